import { CustomObjectsApi } from '@kubernetes/client-node';
import { expect } from 'chai';
import { KubeHttp } from '../../src/kube/kube-http.js';
import { createLogger } from '../../src/logger.js';
import { openKubernetesStore } from '../../src/store/kubernetes-store.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { sealRecord } from '../../src/store/sealed-fields.js';
import { SecretBox } from '../../src/store/secret-box.js';
import type { Store, StoreCollection } from '../../src/store/store.js';
import { ADMIN_DEFAULT_SHA1, usersCollection, type UserRecord } from '../../src/users.js';
import { collections } from '../../server/zcloud.js';
import { clustersCollection } from '../../src/clusters/cluster-manager.js';
import { SESSION_COOKIE } from '../../api/framework/authn.js';
import { eventually, freshNamespace, sharedTestCluster, testCluster, type TestCluster } from '../helpers/world.js';
import { API, sha1, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';
import { killStartedProcesses, runZcloudToExit } from '../helpers/zcloud-process.js';
import { kubectl } from '../helpers/kubectl.js';

const logger = createLogger({ level: 'error' });

/** ZCLOUD_STORE=kubernetes against a real apiserver: records as zcloud.cn objects, concurrency, migration. */
describe('kubernetes store', function () {
  this.timeout(240_000);
  let cluster: TestCluster;
  let objects: CustomObjectsApi;
  const started: TestZcloud[] = [];

  const storeEnv = (namespace: string) => ({ ZCLOUD_STORE: 'kubernetes', ZCLOUD_STORE_KUBECONFIG: cluster.kubeconfigPath, ZCLOUD_STORE_NAMESPACE: namespace });
  const start = async (env: Record<string, string>): Promise<TestZcloud> => {
    const zcloud = await startTestZcloud({ env });
    started.push(zcloud);
    return zcloud;
  };
  const listed = async (namespace: string, plural: string): Promise<{ metadata: { name: string; annotations: Record<string, string> }; spec: any }[]> =>
    ((await objects.listNamespacedCustomObject({ group: 'zcloud.cn', version: 'v1', namespace, plural })) as { items: any[] }).items;

  /**
   * Two stores with their own connections (two processes as far as the apiserver can tell),
   * sixteen writers alternating between them, each adding project `ns-<i>` to user `name`.
   */
  type Change = (current: UserRecord) => UserRecord;
  const raceOnOneUser = async (name: string, write: (users: StoreCollection<UserRecord>, change: Change) => Promise<unknown>, afterwards?: (users: StoreCollection<UserRecord>) => Promise<void>) => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const secrets = SecretBox.fromKey(Buffer.alloc(32, 7).toString('base64'), 'test');
    const open = () => openKubernetesStore({ http: new KubeHttp(cluster.kc), namespace, collections: [usersCollection], secrets, logger });
    const stores: Store[] = [await open(), await open()];
    try {
      const now = new Date().toISOString();
      await stores[0]!.collection(usersCollection).create(name, { name, credential: 'scrypt$x', generation: 1, projects: [], creationTimestamp: now, updateTimestamp: now });
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => write(stores[i % 2]!.collection(usersCollection), (current) => ({ ...current, projects: [...current.projects, { cluster: 'c', namespace: `ns-${i}` }] }))),
      );
      const stored = (await stores[1]!.collection(usersCollection).getVersioned(name))!;
      await afterwards?.(stores[0]!.collection(usersCollection));
      return {
        stored,
        landed: outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [`ns-${i}`] : [])),
        refused: outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : [])),
      };
    } finally {
      for (const store of stores) await store.close();
    }
  };

  before(async () => {
    cluster = await testCluster(sharedTestCluster);
    objects = cluster.kc.makeApiClient(CustomObjectsApi);
  });
  afterEach(async () => {
    for (const zcloud of started.splice(0)) await zcloud.close();
    await killStartedProcesses();
  });

  it('keeps users and clusters as zcloud.cn objects, the kubeconfig in a Secret the cluster object owns, across restarts and replicas', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const first = await start(storeEnv(namespace));
    const admin = await first.adminToken();
    const created = await first.request('POST', `${API}/users`, { token: admin, body: { name: 'ann', password: sha1('ann-pass'), projects: [] } });
    expect(created.status, created.text).to.equal(201);
    const imported = await first.request('POST', `${API}/clusters`, { token: admin, body: { name: 'east', kubeconfig: cluster.kubeconfig } });
    expect(imported.status, imported.text).to.equal(201);

    const users = await listed(namespace, 'users');
    expect(users.map((u) => u.metadata.name)).to.have.members(['admin', 'ann']);
    // What a kubectl user sees: no kubeconfig in the cluster object, sealed or not.
    const yaml = await kubectl(cluster.kubeconfigPath, ['get', 'clusters.zcloud.cn', '-n', namespace, '-o', 'yaml']);
    expect(yaml).to.include('name: east').and.not.include('client-key-data').and.not.include('file-sealed').and.not.include(cluster.kubeconfig.slice(0, 40));
    const [east] = (JSON.parse(await kubectl(cluster.kubeconfigPath, ['get', 'clusters.zcloud.cn', '-n', namespace, '-o', 'json'])) as { items: { metadata: { uid: string } }[] }).items;
    const secret = JSON.parse(await kubectl(cluster.kubeconfigPath, ['get', 'secret', 'zcloud-cluster-east', '-n', namespace, '-o', 'json'])) as {
      type: string;
      data: Record<string, string>;
      metadata: { ownerReferences: { kind: string; name: string; uid: string }[] };
    };
    expect(secret.type).to.equal('Opaque');
    expect(Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8'))).to.deep.equal([cluster.kubeconfig]);
    expect(secret.metadata.ownerReferences).to.deep.include({ apiVersion: 'zcloud.cn/v1', kind: 'Cluster', name: 'east', uid: east!.metadata.uid });

    // A second replica on the same namespace sees the same state and accepts the first one's tokens.
    const second = await start(storeEnv(namespace));
    expect((await second.request('GET', `${API}/users/ann`, { token: admin })).status).to.equal(200);
    expect(await second.login('ann', sha1('ann-pass'))).to.be.a('string');
    await first.close();
    await second.close();
    const restarted = await start(storeEnv(namespace));
    const restartedAdmin = await restarted.adminToken();
    const clusters = await restarted.request('GET', `${API}/clusters`, { token: restartedAdmin });
    expect(clusters.body.data.map((c: { name: string }) => c.name)).to.deep.equal(['east']);
    await eventually(async () => expect((await restarted.request('GET', `${API}/clusters/east/namespaces/default`, { token: restartedAdmin })).status).to.equal(200), { within: 20_000, interval: 250 });
    const kubeconfig = await restarted.request('POST', `${API}/clusters/east?action=getkubeconfig`, { token: restartedAdmin });
    expect(kubeconfig.body.config).to.equal(cluster.kubeconfig);

    expect((await restarted.request('DELETE', `${API}/clusters/east`, { token: restartedAdmin })).status).to.equal(204);
    const left = JSON.parse(await kubectl(cluster.kubeconfigPath, ['get', 'secrets', '-n', namespace, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
    expect(left.items.map((s) => s.metadata.name)).to.not.include('zcloud-cluster-east');
  });

  it('moves a kubeconfig an older zcloud sealed in the cluster object to its Secret at start, and still serves the cluster', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const first = await start(storeEnv(namespace));
    await first.close();
    // What an older zcloud stored: the kubeconfig sealed with the store's key inside the object.
    const keys = await new KubeHttp(cluster.kc).request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/zcloud-keys`);
    const box = SecretBox.fromKey(Buffer.from(keys.data['secrets-key']!, 'base64').toString('utf8'), 'zcloud-keys');
    const record = { name: 'old', source: { kind: 'kubeconfig', kubeconfig: cluster.kubeconfig }, creationTimestamp: new Date().toISOString() };
    await objects.createNamespacedCustomObject({
      group: 'zcloud.cn',
      version: 'v1',
      namespace,
      plural: 'clusters',
      body: { apiVersion: 'zcloud.cn/v1', kind: 'Cluster', metadata: { name: 'old', annotations: { 'zcloud.cn/id': 'old', 'zcloud.cn/order': '1' } }, spec: sealRecord('clusters', 'old', record, box) },
    });
    expect(JSON.stringify(await listed(namespace, 'clusters'))).to.include('file-sealed:');

    const restarted = await start(storeEnv(namespace));
    const admin = await restarted.adminToken();
    await eventually(async () => expect((await restarted.request('GET', `${API}/clusters/old/namespaces/default`, { token: admin })).status).to.equal(200), { within: 20_000, interval: 250 });
    const [old] = await listed(namespace, 'clusters');
    expect(JSON.stringify(old!.spec)).to.not.include('file-sealed:').and.not.include(cluster.kubeconfig.slice(0, 40));
    const secret = await new KubeHttp(cluster.kc).request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/zcloud-cluster-old`);
    expect(Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8'))).to.deep.equal([cluster.kubeconfig]);
  });

  it("a changed secret field gets a new key in the cluster's Secret, the replaced one removed; readers of either replica see the new value", async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const secrets = SecretBox.fromKey(Buffer.alloc(32, 9).toString('base64'), 'test');
    const open = () => openKubernetesStore({ http: new KubeHttp(cluster.kc), namespace, collections: [clustersCollection], secrets, logger });
    const stores: Store[] = [await open(), await open()];
    const secretData = async () => (await new KubeHttp(cluster.kc).request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/zcloud-cluster-swap`)).data;
    try {
      const [writer, reader] = stores.map((store) => store.collection(clustersCollection));
      await writer!.create('swap', { name: 'swap', source: { kind: 'kubeconfig', kubeconfig: 'first' }, creationTimestamp: new Date().toISOString() });
      const [firstKey] = Object.keys(await secretData());
      // A change elsewhere in the record keeps the key.
      await writer!.update('swap', (current) => ({ ...current, creationTimestamp: new Date(0).toISOString() }));
      expect(Object.keys(await secretData())).to.deep.equal([firstKey]);
      await writer!.update('swap', (current) => ({ ...current, source: { kind: 'kubeconfig', kubeconfig: 'second' } }));
      const data = await secretData();
      expect(Object.keys(data)).to.have.length(1).and.not.include(firstKey);
      expect(Buffer.from(Object.values(data)[0]!, 'base64').toString('utf8')).to.equal('second');
      expect((await reader!.get('swap'))!.source).to.deep.equal({ kind: 'kubeconfig', kubeconfig: 'second' });
      expect((await reader!.list()).map((c) => c.source)).to.deep.equal([{ kind: 'kubeconfig', kubeconfig: 'second' }]);
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('a cluster imported through one replica is served by the other, and gone from it when removed', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const env = { ...storeEnv(namespace), ZCLOUD_HEALTH_INTERVAL: '1s' };
    const [first, second] = [await start(env), await start(env)];
    const admin = await first.adminToken();
    expect((await first.request('POST', `${API}/clusters`, { token: admin, body: { name: 'shared', kubeconfig: cluster.kubeconfig } })).status).to.equal(201);
    await eventually(async () => expect((await second.request('GET', `${API}/clusters/shared/namespaces/default`, { token: admin })).status).to.equal(200), { within: 20_000, interval: 250 });
    expect((await first.request('DELETE', `${API}/clusters/shared`, { token: admin })).status).to.equal(204);
    await eventually(async () => expect((await second.request('GET', `${API}/clusters/shared`, { token: admin })).status).to.equal(404), { within: 10_000, interval: 250 });
  });

  it('a password change, deletion or logout through one replica voids the token on the other at once', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const [first, second] = [await start(storeEnv(namespace)), await start(storeEnv(namespace))];
    const admin = await first.adminToken();
    for (const name of ['pw', 'gone']) {
      expect((await first.request('POST', `${API}/users`, { token: admin, body: { name, password: sha1(name), projects: [] } })).status).to.equal(201);
    }
    const pwToken = await first.login('pw', sha1('pw'));
    const goneToken = await first.login('gone', sha1('gone'));
    // Used on the second replica, so it holds them verified.
    for (const token of [pwToken, goneToken]) expect((await second.request('GET', `${API}/users`, { token })).status).to.equal(200);
    expect((await first.request('PUT', `${API}/users/pw`, { token: admin, body: { password: sha1('new'), projects: [] } })).status).to.equal(200);
    expect((await first.request('DELETE', `${API}/users/gone`, { token: admin })).status).to.equal(204);
    await eventually(async () => expect((await second.request('GET', `${API}/users`, { token: pwToken })).status).to.equal(401), { within: 5_000, interval: 100 });
    await eventually(async () => expect((await second.request('GET', `${API}/users`, { token: goneToken })).status).to.equal(401), { within: 5_000, interval: 100 });

    const login = await first.request('POST', '/web/login', { body: { name: 'admin', password: ADMIN_DEFAULT_SHA1 } });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    expect((await second.request('GET', `${API}/users`, { headers: { cookie } })).status).to.equal(200);
    expect((await first.request('GET', '/web/logout', { headers: { cookie } })).status).to.equal(200);
    await eventually(async () => expect((await second.request('GET', `${API}/users`, { headers: { cookie } })).status).to.equal(401), { within: 5_000, interval: 100 });
  });

  it('loses no update when two writers change one user at once: each change lands, or fails with a conflict and leaves nothing', async () => {
    const { stored, landed, refused } = await raceOnOneUser('bob', (users, change) => users.update('bob', change));
    expect(stored.value.projects.map((p) => p.namespace)).to.have.members(landed);
    for (const err of refused) expect(err.name).to.equal('ConflictError');
    expect(landed.length).to.be.greaterThan(1);
  });

  it('two replicas PUT one user with the same If-Match: one 200, one 409; the loser re-reads, re-applies, and both changes are kept', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const [first, second] = [await start(storeEnv(namespace)), await start(storeEnv(namespace))];
    const admin = await first.adminToken();
    expect((await first.request('POST', `${API}/users`, { token: admin, body: { name: 'kim', password: sha1('kim'), projects: [] } })).status).to.equal(201);
    const [readFirst, readSecond] = [await first.request('GET', `${API}/users/kim`, { token: admin }), await second.request('GET', `${API}/users/kim`, { token: admin })];
    const etag = readFirst.headers.get('etag')!;
    expect(etag).to.match(/^"\d+"$/);
    expect(readSecond.headers.get('etag')).to.equal(etag);

    // Each adds one project to what it read.
    const put = (replica: TestZcloud, namespaceName: string, ifMatch: string, read: { projects: unknown[] }) =>
      replica.request('PUT', `${API}/users/kim`, { token: admin, headers: { 'if-match': ifMatch }, body: { projects: [...read.projects, { cluster: 'c', namespace: namespaceName }] } });
    const answers = await Promise.all([put(first, 'from-first', etag, readFirst.body), put(second, 'from-second', etag, readSecond.body)]);
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 409]);
    const winner = answers.findIndex((a) => a.status === 200);
    const [winnerName, loserName] = winner === 0 ? ['from-first', 'from-second'] : ['from-second', 'from-first'];
    const loser = winner === 0 ? second : first;
    expect(answers[1 - winner]!.body).to.include({ type: 'error', status: 409, code: 'Conflict' });
    const afterRace = await loser.request('GET', `${API}/users/kim`, { token: admin });
    expect(afterRace.body.projects.map((p: { namespace: string }) => p.namespace)).to.deep.equal([winnerName]);
    expect(afterRace.headers.get('etag')).to.equal(answers[winner]!.headers.get('etag'));

    const retried = await put(loser, loserName, afterRace.headers.get('etag')!, afterRace.body);
    expect(retried.status, retried.text).to.equal(200);
    const final = await first.request('GET', `${API}/users/kim`, { token: admin });
    expect(final.body.projects.map((p: { namespace: string }) => p.namespace)).to.deep.equal([winnerName, loserName]);
    const stored = (await listed(namespace, 'users')).find((u) => u.metadata.name === 'kim')!;
    expect(stored.spec.projects.map((p: { namespace: string }) => p.namespace)).to.deep.equal([winnerName, loserName]);
  });

  it('a conditional update is never applied over a version it did not read: what landed is exactly what is stored', async () => {
    const { stored, landed, refused } = await raceOnOneUser('lee', (users, change) => users.updateIf('lee', undefined, change));
    expect(stored.value.projects.map((p) => p.namespace)).to.have.members(landed);
    for (const err of refused) expect(err.name).to.equal('ConflictError');
    // Started together, most read the same version: one writes over it, the rest are refused, not re-applied (seen: 2 landed, 14 refused).
    expect(landed).to.not.be.empty;
    expect(refused).to.not.be.empty;
  });

  it('a conditional update naming a version that is no longer stored writes nothing', async () => {
    let before = '';
    let stale: unknown;
    let after = '';
    await raceOnOneUser('max', (users, change) => users.update('max', change), async (users) => {
      before = (await users.getVersioned('max'))!.version;
      stale = await users.updateIf('max', '1', (current) => ({ ...current, projects: [] })).catch((err: Error) => err);
      after = (await users.getVersioned('max'))!.version;
    });
    expect((stale as Error).name).to.equal('ConflictError');
    expect(after).to.equal(before);
  });

  it('`zcloud migrate --from file --to kubernetes` copies every record and log entry', async () => {
    const namespace = await freshNamespace(cluster.kc, 'store');
    const dataDir = tempDir();
    const fileZcloud = await start({ ZCLOUD_DATA_DIR: dataDir });
    const admin = await fileZcloud.adminToken();
    await fileZcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'carol', password: sha1('carol-pass'), projects: [] } });
    await fileZcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'west', kubeconfig: cluster.kubeconfig } });
    const carol = await fileZcloud.login('carol', sha1('carol-pass'));
    await fileZcloud.request('POST', `${API}/userquotas`, { token: carol, body: { namespace: 'team-carol', cpu: '1', memory: '1Gi', storage: '1Gi', purpose: 'p', requestor: 'Carol', telephone: '1' } });
    // A web session logout revokes the token (the revokedTokens collection).
    const session = await fileZcloud.login('carol', sha1('carol-pass'));
    await fileZcloud.request('GET', '/web/logout', { headers: { cookie: `${SESSION_COOKIE}=${session}` } });
    await fileZcloud.close();

    const migration = await runZcloudToExit({ args: ['migrate', '--from', 'file', '--to', 'kubernetes'], env: { ZCLOUD_DATA_DIR: dataDir, ...storeEnv(namespace) } }, 120_000);
    expect(migration.code, migration.stderr).to.equal(0);

    const file = await openLowdbStore({ dataDir, collections });
    const keys = await new KubeHttp(cluster.kc).request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/zcloud-keys`);
    const kubernetes = await openKubernetesStore({
      http: new KubeHttp(cluster.kc),
      namespace,
      collections,
      logger,
      secrets: SecretBox.fromKey(Buffer.from(keys.data['secrets-key']!, 'base64').toString('utf8'), 'zcloud-keys'),
    });
    try {
      let records = 0;
      for (const def of collections) {
        if (def.kind === 'collection') {
          const expected = await file.collection(def).entries();
          records += expected.length;
          expect(await kubernetes.collection(def).entries(), def.name).to.deep.equal(expected);
        } else {
          const expected = await file.log(def, { maxEntries: 5000 }).list();
          records += expected.length;
          expect(await kubernetes.log(def, { maxEntries: 5000 }).list(), def.name).to.deep.equal(expected);
        }
      }
      // users, a cluster, a quota request, a revoked token and the audit entries of those writes.
      expect(records).to.be.greaterThan(6);
      for (const name of ['users', 'clusters', 'userquotas', 'revokedtokens', 'auditlogs']) expect(await listed(namespace, name), name).to.not.be.empty;
      // The cluster's kubeconfig went to its Secret, not into the object.
      expect(JSON.stringify(await listed(namespace, 'clusters'))).to.not.include('file-sealed:').and.not.include(cluster.kubeconfig.slice(0, 40));
      const secret = await new KubeHttp(cluster.kc).request<{ data: Record<string, string> }>('GET', `/api/v1/namespaces/${namespace}/secrets/zcloud-cluster-west`);
      expect(Object.values(secret.data).map((v) => Buffer.from(v, 'base64').toString('utf8'))).to.deep.equal([cluster.kubeconfig]);
    } finally {
      await file.close();
      await kubernetes.close();
    }
    // zcloud on the migrated store: carol logs in with her password, the cluster is there.
    const migrated = await start(storeEnv(namespace));
    expect(await migrated.login('carol', sha1('carol-pass'))).to.be.a('string');
    await eventually(async () => expect((await migrated.request('GET', `${API}/clusters/west`, { token: await migrated.adminToken() })).status).to.equal(200));
  });
});
