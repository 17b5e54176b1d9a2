import { Attach, BatchV1Api, CoreV1Api, Exec, type V1Status } from '@kubernetes/client-node';
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { containerRun, firstLine, linesWritten, logLine, NoLogError } from '../../scripts/testenv/simulator/container-log.js';
import type { Pod } from '../../scripts/testenv/simulator/kube-types.js';
import { eventually, freshNamespace, testCluster, type TestCluster } from '../helpers/world.js';

const started = Date.parse('2024-05-01T10:00:00Z');
const run = { container: 'app', startedAt: started };
const options = { follow: false, timestamps: false };

/** A Writable that keeps what is written to it, as text. */
function collector(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  return { stream, text: () => text };
}

describe('test world: simulated container logs (unit)', function () {
  it('writes one line per interval from the start, each with its time', function () {
    expect(linesWritten(run, started + 3_500, 1_000)).to.equal(3);
    expect(logLine(run, 2, 1_000, false)).to.equal('2024-05-01T10:00:02.000Z app line 2\n');
    expect(logLine(run, 2, 1_000, true)).to.equal('2024-05-01T10:00:02.000Z 2024-05-01T10:00:02.000Z app line 2\n');
  });

  it('starts at the last tailLines lines, or at sinceSeconds, whichever is later', function () {
    const now = started + 10_000;
    expect(firstLine(run, now, 1_000, options)).to.equal(1);
    expect(firstLine(run, now, 1_000, { ...options, tailLines: 3 })).to.equal(8);
    expect(firstLine(run, now, 1_000, { ...options, tailLines: 0 })).to.equal(11);
    expect(firstLine(run, now, 1_000, { ...options, sinceSeconds: 2 })).to.equal(8);
    expect(firstLine(run, now, 1_000, { ...options, sinceSeconds: 5, tailLines: 2 })).to.equal(9);
  });

  it('stops writing when the container terminated; a waiting container has no log', function () {
    const pod = (state: object): Pod => ({
      metadata: { name: 'p', namespace: 'ns' },
      spec: { containers: [{ name: 'app' }] },
      status: { containerStatuses: [{ name: 'app', state } as never] },
    });
    const finished = containerRun(pod({ terminated: { exitCode: 0, reason: 'Completed', startedAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T10:00:02Z' } }), 'app');
    expect(linesWritten(finished, started + 60_000, 1_000)).to.equal(2);
    expect(() => containerRun(pod({ waiting: { reason: 'CrashLoopBackOff' } }), 'app')).to.throw(NoLogError, /waiting to start: CrashLoopBackOff/);
    expect(() => containerRun(pod({}), 'other')).to.throw(NoLogError, /not valid/);
  });
});

describe('test world: simulated kubelet API', function () {
  this.timeout(120_000);
  let cluster: TestCluster;
  let core: CoreV1Api;
  let ns: string;

  before(async () => {
    cluster = await testCluster('sh-kubelet', { nodes: 1 });
    core = cluster.kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(cluster.kc, 'kubelet');
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'app' }, spec: { containers: [{ name: 'app', image: 'busybox:1.35', env: [{ name: 'COLOUR', value: 'teal' }] }] } } });
    await eventually(async () => expect((await core.readNamespacedPod({ namespace: ns, name: 'app' })).status?.phase).to.equal('Running'), { within: 20_000, interval: 200 });
  });
  after(() => cluster?.destroy());

  it('publishes 127.0.0.1 (InternalDNS) and the kubelet port on each node, keeping the made-up InternalIP', async () => {
    const node = await core.readNode({ name: cluster.nodeNames[0]! });
    const addresses = Object.fromEntries((node.status?.addresses ?? []).map((a) => [a.type, a.address]));
    expect(addresses).to.deep.include({ InternalDNS: '127.0.0.1', Hostname: cluster.nodeNames[0] });
    expect(addresses.InternalIP).to.match(/^10\.250\.0\./);
    expect(node.status?.daemonEndpoints?.kubeletEndpoint?.Port).to.be.above(1024).and.not.equal(10250);
  });

  it("serves a Job pod's log through the apiserver until the container completes, and honours sinceSeconds", async () => {
    const batch = cluster.kc.makeApiClient(BatchV1Api);
    await batch.createNamespacedJob({ namespace: ns, body: { metadata: { name: 'once' }, spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'work', image: 'busybox:1.35' }] } } } } });
    const pod = await eventually(async () => {
      const found = (await core.listNamespacedPod({ namespace: ns, labelSelector: 'job-name=once' })).items[0];
      expect(found?.status?.phase).to.equal('Running');
      return found!;
    }, { within: 20_000, interval: 200 });
    // The simulated Job runs 2 s: a follow ends by itself with its 2 lines.
    const followed = await core.readNamespacedPodLog({ namespace: ns, name: pod.metadata!.name!, container: 'work', follow: true });
    expect(followed.trim().split('\n').map((line) => line.replace(/^\S+ /, ''))).to.deep.equal(['work line 1', 'work line 2']);

    await eventually(async () => {
      const log = await core.readNamespacedPodLog({ namespace: ns, name: 'app', container: 'app' });
      expect(log.trim().split('\n').length).to.be.at.least(5);
    }, { within: 10_000, interval: 500 });
    const recent = await core.readNamespacedPodLog({ namespace: ns, name: 'app', container: 'app', sinceSeconds: 2 });
    expect(recent.trim().split('\n').length).to.be.within(1, 3);
  });

  it('answers only the apiserver: another client certificate of the same CA gets 403', async () => {
    const node = await core.readNode({ name: cluster.nodeNames[0]! });
    const port = node.status!.daemonEndpoints!.kubeletEndpoint!.Port;
    const pki = join(cluster.dir, 'pki');
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        { host: '127.0.0.1', port, path: `/containerLogs/${ns}/app/app`, ca: readFileSync(join(pki, 'ca.crt')), cert: readFileSync(join(pki, 'admin.crt')), key: readFileSync(join(pki, 'admin.key')) },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(status).to.equal(403);
  });

  it('execs in a sandbox: own pid namespace and root, the container env, the exit code in the status', async () => {
    const { stream: collect, text } = collector();
    const status = await new Promise<V1Status>((resolve, reject) => {
      new Exec(cluster.kc).exec(ns, 'app', 'app', ['sh', '-c', 'echo pid=$$ colour=$COLOUR; ls /; exit 3'], collect, null, null, false, resolve).catch(reject);
    });
    expect(text()).to.include('pid=1 colour=teal');
    expect(text().split('\n').slice(1).filter(Boolean)).to.deep.equal(['bin', 'dev', 'proc', 'root', 'tmp']);
    expect(status).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    expect(status.details?.causes).to.deep.equal([{ reason: 'ExitCode', message: '3' }]);
  });

  it("attaches to the container's output: the log lines written from then on", async () => {
    const { stream: collect, text } = collector();
    const attached = Date.now();
    const ws = await new Attach(cluster.kc).attach(ns, 'app', 'app', collect, null, null, false);
    try {
      const lines = await eventually(() => {
        const got = text().trim().split('\n').filter(Boolean);
        expect(got.length).to.be.at.least(2);
        return got;
      }, { within: 5_000, interval: 100 });
      for (const line of lines) {
        expect(line).to.match(/^\S+ app line \d+$/);
        expect(Date.parse(line.split(' ')[0]!)).to.be.above(attached - 1_000);
      }
    } finally {
      ws.close();
    }
  });

  it("ends a pod's execs and deletes its sandbox when the pod goes", async () => {
    await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'doomed' }, spec: { containers: [{ name: 'app', image: 'busybox:1.35' }] } } });
    const pod = await eventually(async () => {
      const found = await core.readNamespacedPod({ namespace: ns, name: 'doomed' });
      expect(found.status?.phase).to.equal('Running');
      return found;
    }, { within: 20_000, interval: 200 });
    const { stream: collect, text } = collector();
    const status = new Promise<V1Status>((resolve, reject) => {
      new Exec(cluster.kc).exec(ns, 'doomed', 'app', ['sh', '-c', 'echo started; sleep 300'], collect, null, null, false, resolve).catch(reject);
    });
    await eventually(() => expect(text()).to.include('started'), { within: 5_000, interval: 100 });
    const sandbox = join(cluster.dir, 'sandboxes', `${pod.metadata!.uid}-app`);
    expect(existsSync(sandbox), 'the container has a sandbox while it runs').to.equal(true);

    await core.deleteNamespacedPod({ namespace: ns, name: 'doomed' });
    const ended = await Promise.race([status, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    expect(ended).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode' });
    await eventually(() => expect(existsSync(sandbox)).to.equal(false), { within: 5_000, interval: 100 });
  });
});
