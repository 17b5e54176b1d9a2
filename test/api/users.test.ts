import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { decodeProtectedHeader, decodeJwt } from 'jose';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

describe('users, login and tokens', () => {
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_TOKEN_TTL: '24h' } });
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  async function createUser(name: string, password: string, projects: unknown[] = []) {
    const res = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name, password: sha1(password), projects } });
    expect(res.status, res.text).to.equal(201);
    return res.body;
  }

  it('has admin with password sha1("zcloud") on first start and issues an HS256 JWT', async () => {
    expect(sha1('zcloud')).to.equal(ADMIN_DEFAULT_SHA1);
    const res = await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: ADMIN_DEFAULT_SHA1 } });
    expect(res.status).to.equal(200);
    expect(Object.keys(res.body)).to.deep.equal(['token']);
    expect(decodeProtectedHeader(res.body.token)).to.deep.equal({ alg: 'HS256', typ: 'JWT' });
    const claims = decodeJwt(res.body.token);
    expect(claims.sub).to.equal('admin');
    expect(claims.exp! - claims.iat!).to.be.within(24 * 3600, 24 * 3600 + 1);
  });

  it('answers 401 alike for a wrong password and an unknown user', async () => {
    const wrong = await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: sha1('nope') } });
    const unknown = await zcloud.request('POST', `${API}/users/ghost?action=login`, { body: { password: sha1('nope') } });
    for (const res of [wrong, unknown]) {
      expect(res.status).to.equal(401);
      expect(res.body).to.deep.equal({ type: 'error', status: 401, code: 'Unauthorized', message: 'wrong user name or password' });
    }
    // Both paths do one scrypt: compare medians of a few attempts (loose bound, catches a skipped hash).
    const time = async (user: string) => {
      const samples: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t = performance.now();
        await zcloud.request('POST', `${API}/users/${user}?action=login`, { body: { password: sha1('x') } });
        samples.push(performance.now() - t);
      }
      return samples.sort((a, b) => a - b)[2];
    };
    const known = await time('admin');
    const ghost = await time('ghost');
    expect(ghost).to.be.greaterThan(known / 3);
  });

  it('rejects a missing, malformed, forged or absent token with 401', async () => {
    expect((await zcloud.request('GET', `${API}/users`)).status).to.equal(401);
    expect((await zcloud.request('GET', `${API}/users`, { headers: { authorization: 'Basic abc' } })).status).to.equal(401);
    expect((await zcloud.request('GET', `${API}/users`, { token: 'not.a.jwt' })).status).to.equal(401);
    const [h, p] = admin.split('.');
    expect((await zcloud.request('GET', `${API}/users`, { token: `${h}.${p}.${'A'.repeat(43)}` })).status).to.equal(401);
  });

  it('creates users (admin only), rejects duplicates and bad input naming the field', async () => {
    const user = await createUser('alice', 'alice-pw', [{ cluster: 'c1', namespace: 'ns1' }]);
    expect(user).to.include({ id: 'alice', type: 'user', name: 'alice' });
    expect(user.projects).to.deep.equal([{ cluster: 'c1', namespace: 'ns1' }]);
    expect(user).to.not.have.property('password');
    expect(user.links.self).to.equal(`${zcloud.url}${API}/users/alice`);
    const dup = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'alice', password: sha1('x') } });
    expect(dup.status).to.equal(409);
    const badPw = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'bob', password: 'plain' } });
    expect(badPw.status).to.equal(422);
    expect(badPw.body.message).to.match(/^password: must be the sha1 hex/);
    const badProject = await zcloud.request('POST', `${API}/users`, {
      token: admin,
      body: { name: 'bob', password: sha1('x'), projects: [{ cluster: 'c1' }] },
    });
    expect(badProject.status).to.equal(422);
    expect(badProject.body.message).to.equal('projects.0.namespace: is required');
    const alice = await zcloud.login('alice', sha1('alice-pw'));
    const byUser = await zcloud.request('POST', `${API}/users`, { token: alice, body: { name: 'eve', password: sha1('x') } });
    expect(byUser.status).to.equal(403);
  });

  it('lets a normal user list and get only itself', async () => {
    await createUser('carol', 'carol-pw');
    const carol = await zcloud.login('carol', sha1('carol-pw'));
    const list = await zcloud.request('GET', `${API}/users`, { token: carol });
    expect(list.status).to.equal(200);
    expect(list.body.data.map((u: { id: string }) => u.id)).to.deep.equal(['carol']);
    expect((await zcloud.request('GET', `${API}/users/carol`, { token: carol })).status).to.equal(200);
    expect((await zcloud.request('GET', `${API}/users/admin`, { token: carol })).status).to.equal(403);
    const all = await zcloud.request('GET', `${API}/users`, { token: admin });
    expect(all.body.data.map((u: { id: string }) => u.id)).to.include.members(['admin', 'carol']);
  });

  it('replaces projects whole on PUT and keeps the password when none is given', async () => {
    await createUser('dave', 'dave-pw', [{ cluster: 'c1', namespace: 'a' }, { cluster: 'c1', namespace: 'b' }]);
    const put = await zcloud.request('PUT', `${API}/users/dave`, { token: admin, body: { projects: [{ cluster: 'c2', namespace: '_all' }] } });
    expect(put.status).to.equal(200);
    expect(put.body.projects).to.deep.equal([{ cluster: 'c2', namespace: '_all' }]);
    expect((await zcloud.request('GET', `${API}/users/dave`, { token: admin })).body.projects).to.deep.equal([
      { cluster: 'c2', namespace: '_all' },
    ]);
    await zcloud.login('dave', sha1('dave-pw'));
    const dave = await zcloud.login('dave', sha1('dave-pw'));
    expect((await zcloud.request('PUT', `${API}/users/dave`, { token: dave, body: { projects: [] } })).status).to.equal(403);
    const missing = await zcloud.request('PUT', `${API}/users/nobody`, { token: admin, body: {} });
    expect(missing.status).to.equal(404);
  });

  it('sends an ETag on GET and honours If-Match on PUT: a stale version is 409 and changes nothing', async () => {
    await createUser('fern', 'fern-pw');
    const read = await zcloud.request('GET', `${API}/users/fern`, { token: admin });
    const etag = read.headers.get('etag')!;
    expect(etag).to.match(/^"[^"]+"$/);
    const first = await zcloud.request('PUT', `${API}/users/fern`, { token: admin, headers: { 'if-match': etag }, body: { projects: [{ cluster: 'c1', namespace: 'a' }] } });
    expect(first.status, first.text).to.equal(200);
    const newer = first.headers.get('etag')!;
    expect(newer).to.match(/^"[^"]+"$/).and.not.equal(etag);
    expect((await zcloud.request('GET', `${API}/users/fern`, { token: admin })).headers.get('etag')).to.equal(newer);

    // Computed from the first read: it would drop project a.
    const stale = await zcloud.request('PUT', `${API}/users/fern`, { token: admin, headers: { 'if-match': etag }, body: { projects: [{ cluster: 'c1', namespace: 'b' }] } });
    expect(stale.status).to.equal(409);
    expect(stale.body).to.include({ type: 'error', status: 409, code: 'Conflict' });
    expect((await zcloud.request('GET', `${API}/users/fern`, { token: admin })).body.projects).to.deep.equal([{ cluster: 'c1', namespace: 'a' }]);
    const weak = await zcloud.request('PUT', `${API}/users/fern`, { token: admin, headers: { 'if-match': `W/${newer}` }, body: { projects: [] } });
    expect(weak.status).to.equal(409);
    const two = await zcloud.request('PUT', `${API}/users/fern`, { token: admin, headers: { 'if-match': `${newer}, "x"` }, body: { projects: [] } });
    expect(two.status).to.equal(400);

    const again = await zcloud.request('PUT', `${API}/users/fern`, {
      token: admin,
      headers: { 'if-match': newer },
      body: { projects: [{ cluster: 'c1', namespace: 'a' }, { cluster: 'c1', namespace: 'b' }] },
    });
    expect(again.status, again.text).to.equal(200);
    expect(again.body.projects).to.have.length(2);
    expect((await zcloud.request('GET', `${API}/users/fern`, { token: admin })).headers.get('etag')).to.equal(again.headers.get('etag'));
  });

  it('resetPassword: self only, needs the old password, voids older tokens', async () => {
    await createUser('erin', 'old-pw');
    const before = await zcloud.login('erin', sha1('old-pw'));
    const wrongOld = await zcloud.request('POST', `${API}/users/erin?action=resetPassword`, {
      token: before,
      body: { oldPassword: sha1('guess'), newPassword: sha1('new-pw') },
    });
    expect(wrongOld.status).to.equal(422);
    expect(wrongOld.body.message).to.match(/^oldPassword:/);
    const otherUser = await zcloud.request('POST', `${API}/users/admin?action=resetPassword`, {
      token: before,
      body: { oldPassword: ADMIN_DEFAULT_SHA1, newPassword: sha1('pwned') },
    });
    expect(otherUser.status).to.equal(403);
    const ok = await zcloud.request('POST', `${API}/users/erin?action=resetPassword`, {
      token: before,
      body: { oldPassword: sha1('old-pw'), newPassword: sha1('new-pw') },
    });
    expect(ok.status).to.equal(200);
    expect((await zcloud.request('GET', `${API}/users/erin`, { token: before })).status).to.equal(401);
    const after = await zcloud.login('erin', sha1('new-pw'));
    expect((await zcloud.request('GET', `${API}/users/erin`, { token: after })).status).to.equal(200);
    const oldPw = await zcloud.request('POST', `${API}/users/erin?action=login`, { body: { password: sha1('old-pw') } });
    expect(oldPw.status).to.equal(401);
  });

  it("stops a deleted user's tokens at once; admin cannot be deleted", async () => {
    await createUser('frank', 'frank-pw');
    const frank = await zcloud.login('frank', sha1('frank-pw'));
    expect((await zcloud.request('GET', `${API}/users/frank`, { token: frank })).status).to.equal(200);
    expect((await zcloud.request('DELETE', `${API}/users/frank`, { token: frank })).status).to.equal(403);
    const del = await zcloud.request('DELETE', `${API}/users/frank`, { token: admin });
    expect(del.status).to.equal(204);
    expect(del.text).to.equal('');
    expect((await zcloud.request('GET', `${API}/users/frank`, { token: frank })).status).to.equal(401);
    expect((await zcloud.request('GET', `${API}/users/frank`, { token: admin })).status).to.equal(404);
    const adminDel = await zcloud.request('DELETE', `${API}/users/admin`, { token: admin });
    expect(adminDel.status).to.equal(403);
  });

  it('never shows a password or token in responses, logs, the audit trail or the data file', async () => {
    await createUser('grace', 'grace-secret-pw');
    const token = await zcloud.login('grace', sha1('grace-secret-pw'));
    const secret = sha1('grace-secret-pw');
    const responses = [
      await zcloud.request('GET', `${API}/users`, { token: admin }),
      await zcloud.request('GET', `${API}/users/grace`, { token: admin }),
      await zcloud.request('GET', `${API}/auditlogs`, { token: admin }),
    ];
    for (const res of responses) {
      expect(res.text).to.not.include(secret);
      expect(res.text).to.not.include(token);
      expect(res.text).to.not.match(/"password":"[0-9a-f]{40}"/);
    }
    const audit = responses[2].body.data as Array<{ path: string; body?: { password?: string } }>;
    const creation = audit.find((e) => e.path === `${API}/users` && (e.body as { name?: string })?.name === 'grace');
    expect(creation?.body?.password).to.equal('[redacted]');
    const logs = zcloud.logs();
    expect(logs).to.include('"path":"/apis/zcloud.cn/v1/users"');
    expect(logs).to.not.include(secret);
    expect(logs).to.not.include(token);
    const dataFile = readFileSync(path.join(zcloud.dataDir, 'zcloud.json'), 'utf8');
    expect(dataFile).to.include('"grace"');
    expect(dataFile).to.not.include(secret);
    expect(dataFile).to.match(/"credential": "scrypt\$/);
    const auditFile = readFileSync(path.join(zcloud.dataDir, 'auditlogs.log'), 'utf8');
    expect(auditFile).to.include('"name":"grace"');
    expect(auditFile).to.not.include(secret);
    expect(auditFile).to.not.include(token);
  });

  it('logs every request with method, path, status, duration and user', async () => {
    await zcloud.request('GET', `${API}/users/admin`, { token: admin });
    const lines = zcloud
      .logs()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.reverse().find((l) => l.message === 'request' && l.path === `${API}/users/admin` && l.method === 'GET');
    expect(line).to.include({ method: 'GET', status: 200, user: 'admin' });
    expect(line?.durationMs).to.be.a('number');
  });
});

describe('token lifetime', () => {
  let zcloud: TestZcloud;
  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_TOKEN_TTL: '2s' } });
  });
  after(() => zcloud.close());

  it('rejects an expired token with 401', async () => {
    const token = await zcloud.adminToken();
    expect((await zcloud.request('GET', `${API}/users`, { token })).status).to.equal(200);
    await new Promise((r) => setTimeout(r, 3100));
    const res = await zcloud.request('GET', `${API}/users`, { token });
    expect(res.status).to.equal(401);
    expect(res.body.message).to.equal('token expired');
  });
});
