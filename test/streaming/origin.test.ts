import { expect } from 'chai';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { upgradeStatus, wsBase, WS } from '../helpers/streams.js';
import { startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * Who may open a stream from a browser. An absent cluster's stream answers 404 once the
 * caller is authenticated and its Origin accepted: that is how these cases tell them apart.
 */
describe('streams: browser credentials and Origin', () => {
  const PUBLIC_URL = 'https://console.example.test';
  let zcloud: TestZcloud;
  let cookie: string;
  let url: string;
  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_PUBLIC_URL: `${PUBLIC_URL}/ui/` } });
    const login = await zcloud.request('POST', '/web/login', { body: { name: 'admin', password: ADMIN_DEFAULT_SHA1 } });
    expect(login.status, login.text).to.equal(200);
    cookie = login.headers.get('set-cookie')!.split(';')[0];
    url = `${wsBase(zcloud.url)}${WS}/clusters/absent/zkelog`;
  });
  after(async () => zcloud?.close());

  it('takes the web session cookie only from a page of the configured public origin', async () => {
    expect(await upgradeStatus(url, { cookie, origin: PUBLIC_URL })).to.equal(404);
    expect(await upgradeStatus(url, { cookie, origin: zcloud.url })).to.equal(403);
    expect(await upgradeStatus(url, { cookie })).to.equal(403);
    expect(await upgradeStatus(url, { cookie: '_jwt_session=forged', origin: PUBLIC_URL })).to.equal(401);
  });

  it('takes a token from scripts (no Origin) and from pages of the public origin only', async () => {
    const token = await zcloud.adminToken();
    expect(await upgradeStatus(`${url}?token=${token}`)).to.equal(404);
    expect(await upgradeStatus(url, { authorization: `Bearer ${token}` })).to.equal(404);
    expect(await upgradeStatus(`${url}?token=${token}`, { origin: PUBLIC_URL })).to.equal(404);
    expect(await upgradeStatus(`${url}?token=${token}`, { origin: 'http://evil.example' })).to.equal(403);
  });
});
