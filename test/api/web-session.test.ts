import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { API, sha1, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';

/** The session cookie's `name=value` from a login answer, as a browser's cookie jar keeps it. */
function sessionOf(setCookie: string | null): string {
  expect(setCookie, 'Set-Cookie').to.be.a('string');
  return setCookie!.split(';')[0];
}

describe('web session (the console sends no Authorization header)', () => {
  let zcloud: TestZcloud;
  // Trusting loopback lets a test speak as clients at several addresses (X-Forwarded-For).
  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_TRUSTED_PROXIES: 'loopback', ZCLOUD_LOGIN_MAX_FAILURES: '10' } });
  });
  after(async () => zcloud?.close());

  const login = (name: string, password: string, headers: Record<string, string> = {}) =>
    zcloud.request('POST', '/web/login', { body: { name, password }, headers });

  it('logs in, says whose session it is, serves the API with the cookie alone, and logs out for good', async () => {
    const res = await login('admin', ADMIN_DEFAULT_SHA1);
    expect(res.status, res.text).to.equal(200);
    const setCookie = res.headers.get('set-cookie');
    expect(setCookie).to.match(/^_jwt_session=[^;]+; /);
    expect(setCookie).to.include('HttpOnly').and.include('SameSite=Lax').and.not.include('Secure');
    expect(res.text).to.not.include(sessionOf(setCookie).split('=')[1]);
    const cookie = sessionOf(setCookie);

    expect((await zcloud.request('GET', '/web/role', { headers: { cookie } })).body).to.deep.equal({ user: 'admin', authBy: 'jwt' });
    const users = await zcloud.request('GET', `${API}/users`, { headers: { cookie } });
    expect(users.status, users.text).to.equal(200);
    const created = await zcloud.request('POST', `${API}/users`, {
      headers: { cookie, origin: zcloud.url },
      body: { name: 'carol', password: sha1('carol-pw'), projects: [] },
    });
    expect(created.status, created.text).to.equal(201);

    // A link on another site does not log the console out.
    const crossSite = await zcloud.request('GET', '/web/logout', { headers: { cookie, 'sec-fetch-site': 'cross-site' } });
    expect(crossSite.status).to.equal(403);
    expect(crossSite.headers.get('set-cookie')).to.equal(null);
    const foreignReferer = await zcloud.request('GET', '/web/logout', { headers: { cookie, referer: 'https://evil.example/page' } });
    expect(foreignReferer.status).to.equal(403);
    expect((await zcloud.request('GET', '/web/role', { headers: { cookie } })).body).to.include({ user: 'admin' });

    const out = await zcloud.request('GET', '/web/logout', { headers: { cookie } });
    expect(out.status).to.equal(200);
    expect(out.headers.get('set-cookie')).to.match(/^_jwt_session=; /).and.include('Max-Age=0');
    expect((await zcloud.request('GET', `${API}/users`, { headers: { cookie } })).status).to.equal(401);
    expect((await zcloud.request('GET', '/web/role', { headers: { cookie } })).body).to.deep.equal({ user: '' });
    expect((await zcloud.request('GET', '/web/role')).body).to.deep.equal({ user: '' });
  });

  it('refuses a session write from a foreign origin, or not as JSON (403); a bearer token is not held to it', async () => {
    const cookie = sessionOf((await login('admin', ADMIN_DEFAULT_SHA1)).headers.get('set-cookie'));
    const body = { name: 'mallory', password: sha1('m'), projects: [] };
    const foreign = await zcloud.request('POST', `${API}/users`, { headers: { cookie, origin: 'https://evil.example' }, body });
    expect(foreign.status, foreign.text).to.equal(403);
    expect(foreign.body).to.include({ type: 'error', code: 'PermissionDenied' });
    const noOrigin = await zcloud.request('POST', `${API}/users`, { headers: { cookie }, body });
    expect(noOrigin.status).to.equal(403);
    const referer = await zcloud.request('DELETE', `${API}/users/nobody`, { headers: { cookie, referer: 'https://evil.example/x', 'content-type': 'application/json' } });
    expect(referer.status).to.equal(403);
    const form = await zcloud.request('POST', `${API}/users`, {
      headers: { cookie, origin: zcloud.url, 'content-type': 'application/x-www-form-urlencoded' },
      rawBody: 'name=mallory',
    });
    expect(form.status).to.equal(403);
    expect((await zcloud.request('GET', `${API}/users/mallory`, { token: await zcloud.adminToken() })).status).to.equal(404);
    // Same origin, JSON: the console's request is served; so is a script's bearer request from anywhere.
    const sameOrigin = await zcloud.request('DELETE', `${API}/users/carol`, { headers: { cookie, referer: `${zcloud.url}/users`, 'content-type': 'application/json' } });
    expect(sameOrigin.status, sameOrigin.text).to.equal(204);
    const bearer = await zcloud.request('POST', `${API}/users`, { token: await zcloud.adminToken(), headers: { origin: 'https://elsewhere.example' }, body });
    expect(bearer.status).to.equal(201);
  });

  it('answers wrong credentials with 401 in the API envelope, and never echoes the password', async () => {
    const res = await login('admin', sha1('wrong'), { 'x-forwarded-for': '10.9.9.9' });
    expect(res.status).to.equal(401);
    expect(res.body).to.include({ type: 'error', status: 401, code: 'Unauthorized' });
    expect(res.headers.get('set-cookie')).to.equal(null);
    expect((await login('admin', 'not-a-sha1', { 'x-forwarded-for': '10.9.9.9' })).body.message).to.match(/^password: /);
    expect(zcloud.logs()).to.not.include(sha1('wrong'));
  });

  it('marks the cookie Secure and links https when a trusted proxy says the client came over https', async () => {
    const headers = { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'console.example.com' };
    const res = await login('admin', ADMIN_DEFAULT_SHA1, headers);
    expect(res.headers.get('set-cookie')).to.include('Secure');
    const cookie = sessionOf(res.headers.get('set-cookie'));
    const list = await zcloud.request('GET', `${API}/users`, { headers: { cookie, ...headers } });
    expect(list.body.links.self).to.equal(`https://console.example.com${API}/users`);
    expect(list.body.data[0].links.self).to.match(/^https:\/\/console\.example\.com\//);
    const write = await zcloud.request('DELETE', `${API}/users/nobody`, {
      headers: { cookie, ...headers, origin: 'https://console.example.com', 'content-type': 'application/json' },
    });
    expect(write.status, write.text).to.equal(404);
  });

  it('throttles failed logins per source address on both APIs and /web/login (429, Retry-After); a good password from another address still works', async () => {
    const attacker = { 'x-forwarded-for': '10.0.0.1' };
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const via = i % 3;
      const res =
        via === 0
          ? await login('admin', sha1(`guess-${i}`), attacker)
          : via === 1
            ? await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: sha1(`guess-${i}`) }, headers: attacker })
            : await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: `guess-${i}` }, headers: attacker });
      statuses.push(res.status);
      if (res.status === 429) expect(Number(res.headers.get('retry-after'))).to.be.greaterThan(0);
    }
    expect(statuses.slice(0, 10)).to.deep.equal(Array(10).fill(401));
    expect(statuses.slice(10)).to.deep.equal(Array(10).fill(429));
    // Even the right password is refused from the throttled address: guessing learns nothing there.
    expect((await login('admin', ADMIN_DEFAULT_SHA1, attacker)).status).to.equal(429);
    const started = Date.now();
    const elsewhere = await login('admin', ADMIN_DEFAULT_SHA1, { 'x-forwarded-for': '10.0.0.2' });
    expect(elsewhere.status, elsewhere.text).to.equal(200);
    expect((await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: ADMIN_DEFAULT_SHA1 }, headers: { 'x-forwarded-for': '10.0.0.3' } })).status).to.equal(200);
    expect(Date.now() - started).to.be.lessThan(2_000);
  });

  it('keeps a logged-out token revoked across a restart', async () => {
    const cookie = sessionOf((await login('admin', ADMIN_DEFAULT_SHA1)).headers.get('set-cookie'));
    await zcloud.request('GET', '/web/logout', { headers: { cookie } });
    const { dataDir } = zcloud;
    await zcloud.close();
    zcloud = await startTestZcloud({ dataDir, env: { ZCLOUD_TRUSTED_PROXIES: 'loopback' } });
    expect((await zcloud.request('GET', `${API}/users`, { headers: { cookie } })).status).to.equal(401);
  });
});

describe('web console (ZCLOUD_UI_DIR)', () => {
  let zcloud: TestZcloud;
  before(async () => {
    const ui = tempDir('zcloud-ui-');
    mkdirSync(path.join(ui, 'static', 'js'), { recursive: true });
    writeFileSync(path.join(ui, 'index.html'), '<!doctype html><title>console</title>');
    writeFileSync(path.join(ui, 'static', 'js', 'main.0a1b2c.js'), 'console.log(1)');
    zcloud = await startTestZcloud({ env: { ZCLOUD_UI_DIR: ui } });
  });
  after(async () => zcloud?.close());

  it('serves the console, its assets with cache headers, and index.html for the console routes', async () => {
    const root = await zcloud.request('GET', '/');
    expect(root.status).to.equal(200);
    expect(root.text).to.include('<title>console</title>');
    expect(root.headers.get('cache-control')).to.equal('no-cache');
    const asset = await zcloud.request('GET', '/static/js/main.0a1b2c.js');
    expect(asset.status).to.equal(200);
    expect(asset.headers.get('cache-control')).to.include('max-age=31536000');
    const route = await zcloud.request('GET', '/clusters/beijing/namespaces');
    expect(route.status).to.equal(200);
    expect(route.text).to.include('<title>console</title>');
  });

  it('leaves API paths to the API: their 404s stay API errors', async () => {
    for (const url of [`${API}/gadgets`, '/apis/nowhere', '/osp/api/nothing', '/web/nothing']) {
      const res = await zcloud.request('GET', url, { token: await zcloud.adminToken() });
      expect(res.status, url).to.equal(404);
      expect(res.headers.get('content-type'), url).to.match(/^application\/json/);
      expect(res.body, url).to.include({ code: 'NotFound' });
    }
    expect((await zcloud.request('POST', '/somewhere')).status).to.equal(404);
  });

  it('is off by default', async () => {
    const plain = await startTestZcloud();
    try {
      expect((await plain.request('GET', '/')).status).to.equal(404);
    } finally {
      await plain.close();
    }
  });
});
