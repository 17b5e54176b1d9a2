/**
 * What @kubernetes/client-node 2.0.1 does against a Kubernetes 1.20 apiserver, quirks included.
 * Each quirk test states today's behaviour, so it fails when an upgrade changes it and the
 * workarounds in zcloud (own reflector, own reconnects) can be revisited.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubernetesObjectApi,
  ListWatch,
  Watch,
  makeInformer,
  type KubernetesObject,
  type V1ConfigMap,
  type V1ConfigMapList,
} from '@kubernetes/client-node';
import { repoRoot } from '../../scripts/testenv/paths.js';
import { eventually, freshNamespace, testCluster, type TestCluster } from '../helpers/world.js';
import { mainCluster } from './cluster-names.js';

/** A Watch stand-in for ListWatch: records each watch call and lets the test end it. */
class RecordingWatch {
  readonly calls: { path: string; query: Record<string, unknown>; done: (err: unknown) => void }[] = [];
  async watch(path: string, query: Record<string, unknown>, _callback: unknown, done: (err: unknown) => void): Promise<AbortController> {
    this.calls.push({ path, query, done });
    return new AbortController();
  }
}

const emptyList = async (): Promise<V1ConfigMapList> => ({ metadata: { resourceVersion: '7' }, items: [] });

describe('test world: client-node 2.0.1 against Kubernetes 1.20', function () {
  let cluster: TestCluster;
  let core: CoreV1Api;

  before(async function () {
    cluster = await testCluster(mainCluster);
    core = cluster.kc.makeApiClient(CoreV1Api);
  });

  it('imports on Node 20 only because package.json overrides undici to 7.x (client-node asks for undici 8, which needs Node 22)', function () {
    const require = createRequire(import.meta.url);
    const clientNode = JSON.parse(readFileSync(require.resolve('@kubernetes/client-node/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const ours = JSON.parse(readFileSync(`${repoRoot}/package.json`, 'utf8')) as { overrides?: Record<string, string> };
    const undici = JSON.parse(readFileSync(`${repoRoot}/node_modules/undici/package.json`, 'utf8')) as { version: string };
    expect(clientNode.dependencies.undici).to.match(/^\^8\./);
    expect(ours.overrides?.undici).to.equal('^7.16.0');
    expect(undici.version).to.match(/^7\./);
  });

  it('typed APIs take one object argument and return the body itself', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const created = await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'typed' }, data: { k: 'v' } } });
    expect(created.metadata?.name).to.equal('typed');
    expect(created).to.not.have.property('body');
    const list = await core.listNamespacedConfigMap({ namespace, labelSelector: '' });
    expect(list.items.map((item) => item.metadata?.name)).to.include('typed');
    expect(list.metadata?.resourceVersion).to.be.a('string');
    const missing = await core.readNamespacedConfigMap({ name: 'absent', namespace }).catch((err: unknown) => err);
    expect(missing).to.be.instanceOf(ApiException);
    expect((missing as ApiException<unknown>).code).to.equal(404);
  });

  it('watches: events arrive as plain JSON objects', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const events: { type: string; object: V1ConfigMap }[] = [];
    const controller = await new Watch(cluster.kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      {},
      (type, object: V1ConfigMap) => events.push({ type, object }),
      () => undefined,
    );
    try {
      await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'watched' } } });
      await eventually(() => expect(events.map((e) => `${e.type} ${e.object.metadata?.name}`)).to.include('ADDED watched'));
      // Not deserialised into the typed model: times stay strings.
      const added = events.find((e) => e.object.metadata?.name === 'watched')!;
      expect(added.object.metadata?.creationTimestamp).to.be.a('string');
    } finally {
      controller.abort();
    }
  });

  it('quirk: a Watch with no events for 30 s is ended by the client with a TimeoutError', async function () {
    const watch = new Watch(cluster.kc);
    // The limit is private; read it, then shorten it so the test need not idle for 30 s.
    expect((watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs).to.equal(30_000);
    (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = 500;
    const namespace = await freshNamespace(cluster.kc);
    let end!: (err: unknown) => void;
    const ended = new Promise<unknown>((resolve) => (end = resolve));
    const path = `/api/v1/namespaces/${namespace}/secrets`;
    const controller = await watch.watch(path, { fieldSelector: 'metadata.name=none' }, () => undefined, end);
    try {
      const err = await Promise.race([ended, sleep(5_000, 'still open')]);
      expect(err).to.have.property('name', 'TimeoutError');
    } finally {
      controller.abort();
    }
  });

  it('quirk: ListWatch never asks for bookmarks', async function () {
    const watch = new RecordingWatch();
    const informer = new ListWatch('/api/v1/configmaps', watch as unknown as Watch, emptyList, false);
    await informer.start();
    expect(watch.calls).to.have.length(1);
    expect(watch.calls[0]!.query).to.deep.equal({ resourceVersion: '7' });
    expect(watch.calls[0]!.query).to.not.have.property('allowWatchBookmarks');
    await informer.stop();
  });

  it('quirk: ListWatch stops for good after a stream error other than 410 or a client timeout', async function () {
    const watch = new RecordingWatch();
    let lists = 0;
    const informer = new ListWatch('/api/v1/configmaps', watch as unknown as Watch, async () => (lists++, emptyList()), false);
    const errors: unknown[] = [];
    informer.on('error', (err) => errors.push(err));
    await informer.start();
    expect(watch.calls).to.have.length(1);

    await watch.calls[0]!.done(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    await sleep(1_500);
    expect(errors).to.have.length(1);
    expect(watch.calls, 'no new watch after the error').to.have.length(1);
    expect(lists, 'no new list after the error').to.equal(1);
  });

  it('quirk: ListWatch resumes by itself after the client-side idle timeout', async function () {
    const watch = new RecordingWatch();
    const informer = new ListWatch('/api/v1/configmaps', watch as unknown as Watch, emptyList, false);
    await informer.start();
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' });
    await watch.calls[0]!.done(timeout);
    await eventually(() => expect(watch.calls).to.have.length(2));
    expect(watch.calls[1]!.query).to.deep.equal({ resourceVersion: '7' });
    await informer.stop();
  });

  it('quirk: makeInformer applies its label selector to the watch only, not to the list', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const create = (name: string, labels: Record<string, string> = {}) =>
      core.createNamespacedConfigMap({ namespace, body: { metadata: { name, labels } } });
    await create('listed-match', { team: 'a' });
    await create('listed-other');
    const informer = makeInformer(
      cluster.kc,
      `/api/v1/namespaces/${namespace}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace }),
      'team=a',
    );
    await informer.start();
    try {
      const names = () => informer.list().map((item: KubernetesObject) => item.metadata?.name);
      // The list was unfiltered: the non-matching object is in the cache.
      expect(names()).to.include.members(['listed-match', 'listed-other']);
      // Later changes go through the filtered watch: the non-matching one never arrives.
      await create('watched-other');
      await create('watched-match', { team: 'a' });
      await eventually(() => expect(names()).to.include('watched-match'));
      expect(names()).to.not.include('watched-other');
    } finally {
      await informer.stop();
    }
  });

  it('quirk: CronJob is served only as batch/v1beta1, which client-node has no typed API for', async function () {
    const namespace = await freshNamespace(cluster.kc);
    const typed = await cluster.kc
      .makeApiClient(BatchV1Api)
      .listNamespacedCronJob({ namespace })
      .catch((err: unknown) => err);
    expect(typed).to.be.instanceOf(ApiException);
    expect((typed as ApiException<unknown>).code).to.equal(404);

    const objects = KubernetesObjectApi.makeApiClient(cluster.kc);
    await objects.create({
      apiVersion: 'batch/v1beta1',
      kind: 'CronJob',
      metadata: { name: 'nightly', namespace },
      spec: {
        schedule: '0 3 * * *',
        jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } } } },
      },
    } as KubernetesObject);
    const list = await objects.list('batch/v1beta1', 'CronJob', namespace);
    expect(list.items.map((item) => item.metadata?.name)).to.deep.equal(['nightly']);
  });
});
