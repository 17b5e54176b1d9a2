import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { CLUSTER_SHELL_LABEL } from '../../src/streaming/cluster-shell.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { openSocket, upgradeStatus, wsBase, WS, type TestSocket } from '../helpers/streams.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { API, sha1, tempDir } from '../helpers/zcloud.js';
import { callZcloud, killStartedProcesses, loginAt, startZcloudProcess } from '../helpers/zcloud-process.js';

/** A simulated container writes `<ISO time> <container> line <n>` every second (scripts/testenv/simulator/container-log.ts). */
function parseLine(frame: string): { time: number; container: string; n: number } {
  const match = /^(\S+) (\S+) line (\d+)$/.exec(frame);
  if (!match) throw new Error(`not a log line: ${JSON.stringify(frame)}`);
  return { time: Date.parse(match[1]!), container: match[2]!, n: Number(match[3]) };
}

describe('container log and shells', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let base: string;
  let core: CoreV1Api;
  let mine: string;
  let theirs: string;
  let userToken: string;
  const sockets: TestSocket[] = [];
  const open = async (path: string): Promise<TestSocket> => {
    const socket = await openSocket(`${base}${path}`);
    sockets.push(socket);
    return socket;
  };
  const containerPath = (ns: string, pod: string, container: string) => `${WS}/clusters/sh-streams/namespaces/${ns}/pods/${pod}/containers/${container}`;
  const runningPod = async (ns: string, name: string, containerEnv: Array<{ name: string; value: string }> = []) => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name }, spec: { containers: [{ name: 'app', image: 'busybox:1.35', env: containerEnv }] } } });
    await eventually(async () => expect((await core.readNamespacedPod({ namespace: ns, name })).status?.phase).to.equal('Running'), { within: 20_000, interval: 200 });
    // zcloud's cache has it too (the endpoints check the pod there before upgrading).
    await eventually(async () => expect(await upgradeStatus(`${base}${containerPath(ns, name, 'app')}/log?token=${env.admin}`)).to.equal(101), { within: 10_000, interval: 200 });
  };
  const output = (socket: TestSocket): string => socket.frames.join('');

  before(async () => {
    // The idle limit is short enough to watch it act; the other tests never pause that long.
    env = await importedCluster('sh-streams', { zcloud: { env: { ZCLOUD_KUBECTL_IMAGE: 'busybox:1.35', ZCLOUD_SHELL_IDLE_LIMIT: '4s' } } });
    base = wsBase(env.zcloud.url);
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    mine = await freshNamespace(env.cluster.kc, 'mine');
    theirs = await freshNamespace(env.cluster.kc, 'theirs');
    userToken = await env.userWith('shuser', [{ namespace: mine }]);
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(async () => {
    await killStartedProcesses();
    await env?.close();
  });

  it('refuses before the upgrade: no token 401, a user outside the namespace 403, an unknown pod 404', async () => {
    await runningPod(theirs, 'guarded');
    for (const kind of ['log', 'shell']) {
      const path = `${base}${containerPath(theirs, 'guarded', 'app')}/${kind}`;
      expect(await upgradeStatus(path), `${kind} without token`).to.equal(401);
      expect(await upgradeStatus(`${path}?token=${userToken}`), `${kind} outside the namespace`).to.equal(403);
      expect(await upgradeStatus(`${base}${containerPath(theirs, 'absent', 'app')}/${kind}?token=${env.admin}`), `${kind} of an unknown pod`).to.equal(404);
      expect(await upgradeStatus(`${base}${containerPath(theirs, 'guarded', 'nope')}/${kind}?token=${env.admin}`), `${kind} of an unknown container`).to.equal(404);
    }
    expect(await upgradeStatus(`${base}${containerPath(theirs, 'guarded', 'app')}/log?tailLines=-1&token=${env.admin}`)).to.equal(422);
    expect(await upgradeStatus(`${base}${WS}/clusters/sh-streams/shell?token=${userToken}`)).to.equal(403);
    expect(await upgradeStatus(`${base}${WS}/clusters/sh-streams/shell`)).to.equal(401);
  });

  it('follows a container log: the last tailLines lines, then lines written after connecting; ends when the pod goes', async () => {
    await runningPod(mine, 'talker');
    // Let it write a few lines, so that tailLines has something to cut.
    await eventually(async () => {
      const log = await core.readNamespacedPodLog({ namespace: mine, name: 'talker', container: 'app' });
      expect(log.trim().split('\n').length).to.be.at.least(4);
    }, { within: 10_000, interval: 500 });
    const before = Date.now();
    const socket = await open(`${containerPath(mine, 'talker', 'app')}/log?tailLines=2&token=${userToken}`);
    const opened = Date.now();
    await socket.until((frames) => frames.length >= 4, 6_000);
    const lines = socket.frames.map(parseLine);
    expect(lines.map((l) => l.n), 'consecutive lines').to.deep.equal(lines.map((_, i) => lines[0]!.n + i));
    expect(lines[0]!.n, 'older lines left out').to.be.at.least(3);
    expect(lines[0]!.container).to.equal('app');
    expect(lines[1]!.time, 'two lines of backlog').to.be.at.most(opened);
    expect(lines[2]!.time, 'then lines written after connecting').to.be.above(before);
    expect(lines[3]!.time).to.be.above(before);

    await core.deleteNamespacedPod({ namespace: mine, name: 'talker' });
    const closed = await Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 15_000))]);
    expect(closed).to.deep.include({ code: 1000 });
  });

  it('runs a shell in the container: echo hi gives hi, resize frames set the terminal size, exit closes the socket', async () => {
    await runningPod(mine, 'shelled', [{ name: 'GREETING', value: 'from-the-pod-env' }]);
    const socket = await open(`${containerPath(mine, 'shelled', 'app')}/shell?token=${userToken}`);
    socket.ws.send(JSON.stringify({ cols: 80, rows: 24 }));
    socket.ws.send('echo hi\n');
    await socket.until(() => /\r?\nhi\r?\n/.test(output(socket)), 10_000);
    socket.ws.send(JSON.stringify({ cols: 132, rows: 43 }));
    socket.ws.send('stty size; echo $GREETING\n');
    await socket.until(() => /\r?\n43 132\r?\n/.test(output(socket)) && /\r?\nfrom-the-pod-env\r?\n/.test(output(socket)), 10_000);
    socket.ws.send('exit\n');
    const closed = await Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 10_000))]);
    expect(closed).to.deep.include({ code: 1000 });
  });

  it("opens admin's cluster shell in a pod with a ServiceAccount bound to cluster-admin, and deletes them after the socket closes", async () => {
    const rbac = env.cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const selector = CLUSTER_SHELL_LABEL;
    const socket = await open(`${WS}/clusters/sh-streams/shell?token=${env.admin}`);
    socket.ws.send(JSON.stringify({ cols: 100, rows: 30 }));
    socket.ws.send('echo hi\n');
    // A shell that could not open closes the socket at once (4011 and why): fail with that.
    const refused = socket.closed.then(({ code, reason }) => {
      throw new Error(`closed ${code} ${reason}`);
    });
    await Promise.race([socket.until(() => /\r?\nhi\r?\n/.test(output(socket)), 30_000), refused]);
    refused.catch(() => undefined); // the close at the end of this test is expected

    const pods = (await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: selector })).items;
    expect(pods.map((p) => p.status?.phase)).to.deep.equal(['Running']);
    const name = pods[0]!.metadata!.name!;
    expect(pods[0]!.spec?.serviceAccountName).to.equal(name);
    const account = await core.readNamespacedServiceAccount({ namespace: 'zcloud-system', name });
    expect(account.metadata?.labels?.[CLUSTER_SHELL_LABEL]).to.equal('admin');
    const binding = await rbac.readClusterRoleBinding({ name });
    expect(binding.roleRef).to.include({ kind: 'ClusterRole', name: 'cluster-admin' });
    expect(binding.subjects).to.deep.equal([{ kind: 'ServiceAccount', name, namespace: 'zcloud-system' }]);

    await socket.close();
    await eventually(async () => {
      expect((await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: selector })).items).to.have.length(0);
      expect((await core.listNamespacedServiceAccount({ namespace: 'zcloud-system', labelSelector: selector })).items).to.have.length(0);
      expect((await rbac.listClusterRoleBinding({ labelSelector: selector })).items).to.have.length(0);
    }, { within: 10_000, interval: 250 });
  });

  it('closes an idle cluster shell with 4012 after the idle limit and deletes its pod', async () => {
    const socket = await open(`${WS}/clusters/sh-streams/shell?token=${env.admin}`);
    socket.ws.send(JSON.stringify({ cols: 100, rows: 30 }));
    await eventually(async () => expect((await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items).to.have.length(1), { within: 20_000, interval: 250 });
    const closed = await Promise.race([socket.closed, new Promise((resolve) => setTimeout(() => resolve('still open'), 20_000))]);
    expect(closed).to.deep.include({ code: 4012 });
    await eventually(async () => expect((await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items).to.have.length(0), { within: 10_000, interval: 250 });
  });

  it("deletes a cluster shell left by a zcloud killed with -9 once the shell's lease runs out (here the 4 s idle limit)", async () => {
    const rbac = env.cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const shellObjects = async () => ({
      pods: (await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items.length,
      accounts: (await core.listNamespacedServiceAccount({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items.length,
      bindings: (await rbac.listClusterRoleBinding({ labelSelector: CLUSTER_SHELL_LABEL })).items.length,
    });
    const processEnv = { ZCLOUD_DATA_DIR: tempDir(), ZCLOUD_KUBECTL_IMAGE: 'busybox:1.35', ZCLOUD_SHELL_IDLE_LIMIT: '4s', ZCLOUD_HEALTH_INTERVAL: '1s' };
    const first = await startZcloudProcess({ env: processEnv });
    const token = await loginAt(first.url, 'admin', sha1('zcloud'));
    expect((await callZcloud(first.url, 'POST', `${API}/clusters`, token, { name: 'sh-killed', kubeconfig: env.cluster.kubeconfig })).status).to.equal(201);
    await eventually(async () => expect((await callZcloud(first.url, 'GET', `${API}/clusters/sh-killed`, token)).body.status).to.equal('Running'), { within: 30_000, interval: 200 });
    const shell = await openSocket(`${wsBase(first.url)}${WS}/clusters/sh-killed/shell?token=${token}`);
    sockets.push(shell);
    shell.ws.send(JSON.stringify({ cols: 80, rows: 24 }));
    shell.ws.send('echo alive\n');
    await shell.until(() => /\r?\nalive\r?\n/.test(output(shell)), 30_000);

    await first.kill9();
    expect(await shellObjects(), 'nothing removed them at the kill').to.deep.equal({ pods: 1, accounts: 1, bindings: 1 });
    // zcloud back on the same data: its sweeper reads the shells at attach and deletes this one once
    // its lease has ended (the suite's zcloud, serving the same cluster, may get there first).
    const second = await startZcloudProcess({ env: processEnv });
    try {
      await eventually(async () => expect(await shellObjects()).to.deep.equal({ pods: 0, accounts: 0, bindings: 0 }), { within: 30_000, interval: 500 });
    } finally {
      await second.stop();
    }
  });

  // Last: it stops zcloud.
  it("deletes an open cluster shell's pod, account and binding when zcloud stops", async () => {
    const rbac = env.cluster.kc.makeApiClient(RbacAuthorizationV1Api);
    const socket = await open(`${WS}/clusters/sh-streams/shell?token=${env.admin}`);
    socket.ws.send(JSON.stringify({ cols: 100, rows: 30 }));
    socket.ws.send('echo hi\n');
    await socket.until(() => /\r?\nhi\r?\n/.test(output(socket)), 30_000);
    await env.zcloud.close();
    expect((await socket.closed).code).to.equal(1001);
    // zcloud's stop waited for the deletes: nothing is left the moment it returns.
    expect((await core.listNamespacedPod({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items).to.have.length(0);
    expect((await core.listNamespacedServiceAccount({ namespace: 'zcloud-system', labelSelector: CLUSTER_SHELL_LABEL })).items).to.have.length(0);
    expect((await rbac.listClusterRoleBinding({ labelSelector: CLUSTER_SHELL_LABEL })).items).to.have.length(0);
  });
});
