import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { openSocket, upgradeStatus, wsBase, WS, type TestSocket } from '../helpers/streams.js';
import { eventually } from '../helpers/world.js';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

describe('provisioning log stream (zkelog)', function () {
  this.timeout(60_000);
  let zcloud: TestZcloud;
  let admin: string;
  const sockets: TestSocket[] = [];
  const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
  // No SSH server answers on 127.0.0.2:22: the first step fails at once, and a retry fails again.
  const body = { name: 'unreachable', nodes: [{ name: 'cp1', address: '127.0.0.2', roles: ['controlplane', 'etcd', 'worker'] }], sshUser: 'zcloud', sshKey, singleCloudAddress: '127.0.0.1:8080' };
  const failed = async () =>
    eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/unreachable`, { token: admin })).body.status).to.equal('CreateFailed'), { within: 20_000 });

  before(async () => {
    zcloud = await startTestZcloud();
    admin = await zcloud.adminToken();
  });
  after(async () => {
    await Promise.all(sockets.map((s) => s.close()));
    await zcloud?.close();
  });

  it('sends the lines so far, then each new one; admin only', async () => {
    const created = await zcloud.request('POST', `${API}/clusters`, { token: admin, body });
    expect(created.status, created.text).to.equal(201);
    await failed();

    const url = `${wsBase(zcloud.url)}${WS}/clusters/unreachable/zkelog`;
    const socket = await openSocket(`${url}?token=${admin}`);
    sockets.push(socket);
    const failures = (frames: string[]) => frames.filter((line) => /\[connect\] cp1: failed: /.test(line)).length;
    await socket.until((frames) => failures(frames) === 1);
    expect(socket.frames[0]).to.match(/^\d{4}-\d\d-\d\dT[\d:.]+Z \[pki\] unreachable: started$/);
    expect(socket.frames).to.satisfy((lines: string[]) => lines.some((l) => / \[connect\] cp1: started$/.test(l)));
    expect(socket.frames.join('\n')).to.not.include('PRIVATE KEY');

    // Running it again (same spec): its lines arrive live.
    const rerun = await zcloud.request('PUT', `${API}/clusters/unreachable`, { token: admin, body });
    expect(rerun.status, rerun.text).to.equal(200);
    await socket.until((frames) => failures(frames) === 2, 20_000);

    const user = await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'zk', password: sha1('zk-pw'), projects: [{ cluster: 'unreachable', namespace: 'default' }] } });
    expect(user.status, user.text).to.equal(201);
    expect(await upgradeStatus(`${url}?token=${await zcloud.login('zk', sha1('zk-pw'))}`)).to.equal(403);
    expect(await upgradeStatus(`${wsBase(zcloud.url)}${WS}/clusters/absent/zkelog?token=${admin}`)).to.equal(404);
  });
});
