import { expect } from 'chai';
import { API, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

/**
 * The holes issue 16 found, closed: broken percent-encoding, oversize bodies, audit entries
 * grown by anonymous junk, and tokens of one API opening the other.
 */
describe('hostile input: the found holes', () => {
  let zcloud: TestZcloud;
  let admin: string;
  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  it('answers 400 InvalidFormat for a path with broken percent-encoding, anonymous or not, and logs no stack', async () => {
    for (const token of [undefined, admin]) {
      const res = await zcloud.request('GET', `${API}/users/%E0%A4%A`, { token });
      expect(res.status, res.text).to.equal(400);
      expect(res.body).to.include({ type: 'error', status: 400, code: 'InvalidFormat' });
      expect(res.body.message).to.include('percent-encoding');
    }
    const osp = await zcloud.request('GET', '/osp/api/pods/%E0%A4%A', { token: admin });
    expect(osp.status, osp.text).to.equal(400);
    expect(zcloud.logs()).to.not.include('URIError');
    expect(zcloud.logs()).to.not.match(/"status":5\d\d/);
  });

  it('answers 413 for a body over the limit, without a stack', async () => {
    const huge = JSON.stringify({ password: 'x'.repeat(11 * 1024 * 1024) });
    const res = await zcloud.request('POST', `${API}/users/admin?action=login`, { rawBody: huge, headers: { 'content-type': 'application/json' } });
    expect(res.status, res.text.slice(0, 200)).to.equal(413);
    expect(res.body).to.include({ code: 'RequestTooLarge' });
    expect(zcloud.logs()).to.not.match(/"status":5\d\d/);
  });

  it('keeps junk out of the audit trail: refused and anonymous bodies are not stored, large ones are bounded', async () => {
    const junk = 'j'.repeat(5 * 1024 * 1024);
    const refused = await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: 'not-a-sha1', junk } });
    expect(refused.status).to.be.within(400, 499);
    const wrongPassword = await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: 'a'.repeat(40), junk } });
    expect(wrongPassword.status).to.equal(401);
    const accepted = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'bulky', password: 'b'.repeat(40), junk } });
    expect(accepted.status, accepted.text).to.equal(201);

    const trail = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    const last = trail.body.data.slice(-3);
    expect(last.map((e: { status: number }) => e.status)).to.deep.equal([refused.status, 401, 201]);
    expect(last[0]).to.not.have.property('body');
    expect(last[1]).to.not.have.property('body');
    // Accepted input is audited as validated: the unknown `junk` field is not part of it.
    expect(last[2].body).to.deep.equal({ name: 'bulky', password: '[redacted]' });
    expect(JSON.stringify(trail.body).length).to.be.below(64 * 1024);
  });

  it('audits an accepted body over the entry bound as its size only', async () => {
    const projects = Array.from({ length: 400 }, (_, i) => ({ cluster: 'c', namespace: `namespace-${i}` }));
    const res = await zcloud.request('PUT', `${API}/users/bulky`, { token: admin, body: { projects } });
    expect(res.status, res.text).to.equal(200);
    const trail = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    const entry = trail.body.data.at(-1);
    expect(entry).to.include({ verb: 'PUT', status: 200 });
    expect(entry.body.truncated).to.equal(true);
    expect(entry.body.bytes).to.be.above(8 * 1024);
  });

  it('refuses an OSP token on the zcloud.cn API and a zcloud.cn token on OSP', async () => {
    const osp = (await zcloud.request('POST', '/osp/api/login', { body: { name: 'admin', password: 'zcloud' } })).body.data.token as string;
    const onZcloud = await zcloud.request('GET', `${API}/users`, { token: osp });
    expect(onZcloud.status).to.equal(401);
    expect(onZcloud.body.message).to.include('not for the zcloud API');
    const onOsp = await zcloud.request('GET', '/osp/api/users', { token: admin });
    expect(onOsp.status).to.equal(401);
    // Each still opens its own API.
    expect((await zcloud.request('GET', '/osp/api/users', { token: osp })).status).to.equal(200);
    expect((await zcloud.request('GET', `${API}/users`, { token: admin })).status).to.equal(200);
  });
});
