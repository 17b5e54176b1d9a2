import { expect } from 'chai';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

describe('audit trail', () => {
  let zcloud: TestZcloud;
  let admin: string;
  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_AUDIT_MAX_ENTRIES: '5' } });
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  it('records mutating requests with user, verb, path, status, time and source IP, redacted', async () => {
    const created = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'hank', password: sha1('hank-pw') } });
    expect(created.status).to.equal(201);
    const list = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    expect(list.status).to.equal(200);
    expect(list.body.resourceType).to.equal('auditlog');
    const entry = list.body.data.at(-1);
    expect(entry).to.include({ user: 'admin', verb: 'POST', path: `${API}/users`, status: 201, type: 'auditlog' });
    expect(entry.sourceIP).to.match(/127\.0\.0\.1/);
    expect(Date.parse(entry.time)).to.be.closeTo(Date.now(), 10_000);
    expect(entry.body).to.deep.equal({ name: 'hank', password: '[redacted]' });
  });

  it('records failed attempts too, and logins without their password', async () => {
    await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: sha1('wrong') } });
    const list = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    const entry = list.body.data.at(-1);
    expect(entry).to.include({ user: 'anonymous', verb: 'POST', action: 'login', status: 401 });
    expect(entry.body).to.deep.equal({ password: '[redacted]' });
  });

  it('keeps at most the configured number of entries, dropping the oldest', async () => {
    for (let i = 0; i < 7; i++) {
      await zcloud.request('PUT', `${API}/users/hank`, { token: admin, body: { projects: [{ cluster: 'c', namespace: `n${i}` }] } });
    }
    const list = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    expect(list.body.data).to.have.length(5);
    expect(list.body.data.map((e: { body: { projects: Array<{ namespace: string }> } }) => e.body.projects[0].namespace)).to.deep.equal([
      'n2',
      'n3',
      'n4',
      'n5',
      'n6',
    ]);
  });

  it('is for admin only', async () => {
    await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'ivy', password: sha1('ivy-pw') } });
    const ivy = await zcloud.login('ivy', sha1('ivy-pw'));
    expect((await zcloud.request('GET', `${API}/auditlogs`, { token: ivy })).status).to.equal(403);
    expect((await zcloud.request('DELETE', `${API}/auditlogs/x`, { token: admin })).status).to.equal(405);
  });
});
