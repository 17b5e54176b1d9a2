import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { API, sha1, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';

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

  it('records failed attempts too, without the body of a refused login', async () => {
    await zcloud.request('POST', `${API}/users/admin?action=login`, { body: { password: sha1('wrong') } });
    const list = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    const entry = list.body.data.at(-1);
    expect(entry).to.include({ user: 'anonymous', verb: 'POST', action: 'login', status: 401 });
    expect(entry).to.not.have.property('body');
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
    // The log file is compacted now and then, not per write: it never holds more than twice the bound.
    const lines = readFileSync(path.join(zcloud.dataDir, 'auditlogs.log'), 'utf8').split('\n').filter(Boolean);
    expect(lines.length).to.be.within(5, 10);
  });

  it('is for admin only', async () => {
    await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'ivy', password: sha1('ivy-pw') } });
    const ivy = await zcloud.login('ivy', sha1('ivy-pw'));
    expect((await zcloud.request('GET', `${API}/auditlogs`, { token: ivy })).status).to.equal(403);
    expect((await zcloud.request('DELETE', `${API}/auditlogs/x`, { token: admin })).status).to.equal(405);
  });
});

describe('audit trail of an older data file', () => {
  it('moves the entries kept in the data file into auditlogs.log once, and serves them in order', async () => {
    const dataDir = tempDir();
    const entry = (id: string, minute: number) => ({
      id,
      time: `2026-01-01T00:0${minute}:00.000Z`,
      user: 'admin',
      verb: 'POST',
      path: `${API}/users`,
      status: 201,
      sourceIP: '127.0.0.1',
      body: { name: id, password: '[redacted]' },
    });
    const old = { version: 1, collections: { auditlogs: { 'a-2': entry('a-2', 1), 'a-1': entry('a-1', 2) } } };
    writeFileSync(path.join(dataDir, 'zcloud.json'), JSON.stringify(old));
    for (let start = 0; start < 2; start++) {
      const zcloud = await startTestZcloud({ dataDir });
      try {
        const list = await zcloud.request('GET', `${API}/auditlogs`, { token: await zcloud.adminToken() });
        expect(list.body.data.slice(0, 2).map((e: { id: string }) => e.id)).to.deep.equal(['a-2', 'a-1']);
        expect(list.body.data[0]).to.include({ type: 'auditlog', creationTimestamp: '2026-01-01T00:01:00.000Z', user: 'admin', status: 201 });
        // Logins of this test come after them; the moved entries are there once.
        expect(list.body.data.filter((e: { id: string }) => e.id.startsWith('a-') && e.id.length === 3)).to.have.length(2);
      } finally {
        await zcloud.close();
      }
      expect(JSON.parse(readFileSync(path.join(dataDir, 'zcloud.json'), 'utf8')).collections).to.not.have.property('auditlogs');
    }
  });
});
