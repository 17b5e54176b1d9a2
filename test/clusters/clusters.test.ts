import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { expect } from 'chai';
import { parseExposition, samplesOf, valueOf } from '../helpers/metrics.js';
import { percentile } from '../helpers/stats.js';
import { eventually, testCluster, type TestCluster } from '../helpers/world.js';
import { API, sha1, startTestZcloud, tempDir, type TestZcloud } from '../helpers/zcloud.js';

/** Two real clusters imported into one zcloud: import, caches, namespaces, authorization. */
describe('clusters: import, informer caches, namespaces', function () {
  this.timeout(180_000);
  const names = ['zc-east', 'zc-west'];
  let kubeconfigs: string[];
  let clusters: TestCluster[] = [];
  let core: CoreV1Api[];
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    for (const name of names) clusters.push(await testCluster(name));
    kubeconfigs = clusters.map((c) => c.kubeconfig);
    core = clusters.map((c) => c.kc.makeApiClient(CoreV1Api));
    zcloud = await startTestZcloud({ env: { ZCLOUD_HEALTH_INTERVAL: '1s', ZCLOUD_WATCH_TIMEOUT: '3s' } });
    admin = await zcloud.adminToken();
    for (let i = 0; i < names.length; i++) {
      const res = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: names[i], kubeconfig: kubeconfigs[i] } });
      expect(res.status, res.text).to.equal(201);
    }
    for (const name of names) {
      await eventually(
        async () => expect((await zcloud.request('GET', `${API}/clusters/${name}`, { token: admin })).body.status).to.equal('Running'),
        { within: 30_000 },
      );
    }
  });
  after(async () => {
    await zcloud?.close();
    for (const cluster of clusters) await cluster.destroy();
  });

  it('reports each cluster Running with version, nodes and capacity from the cache', async () => {
    const res = await zcloud.request('GET', `${API}/clusters/zc-east`, { token: admin });
    expect(res.body).to.include({ id: 'zc-east', type: 'cluster', status: 'Running', version: 'v1.20.2', nodeCount: 3 });
    const nodes = await core[0].listNode();
    const workers = nodes.items.filter((n) => n.metadata?.labels?.['node-role.kubernetes.io/worker'] !== undefined);
    expect(workers.length).to.be.greaterThan(0);
    const allocatableMilli = workers.reduce((sum, n) => sum + parseQuantityMilli(n.status!.allocatable!.cpu), 0);
    expect(res.body.cpu).to.equal(allocatableMilli);
    expect(res.body.pod).to.equal(workers.reduce((sum, n) => sum + Number(n.status!.allocatable!.pods), 0));
    expect(res.body.cpuUsedRatio).to.match(/^\d\.\d\d$/);
    expect(res.body.links.namespaces).to.equal(`${zcloud.url}${API}/clusters/zc-east/namespaces`);
    expect(res.body).to.not.have.property('kubeconfig');
  });

  it('never returns or logs the kubeconfig, except through getkubeconfig (admin)', async () => {
    const list = await zcloud.request('GET', `${API}/clusters`, { token: admin });
    expect(list.body.data.map((c: { id: string }) => c.id).sort()).to.deep.equal(names);
    const keyLine = kubeconfigs[0].split('\n').find((l) => l.includes('client-key-data'))!.split(':')[1].trim();
    expect(list.text).to.not.include(keyLine);
    expect(zcloud.logs()).to.not.include(keyLine);
    const audit = await zcloud.request('GET', `${API}/auditlogs`, { token: admin });
    expect(audit.text).to.not.include(keyLine);
    // At rest the data file holds it sealed: a copy of the file alone gives nothing away.
    const dataFile = readFileSync(`${zcloud.dataDir}/zcloud.json`, 'utf8');
    expect(dataFile).to.not.include(keyLine).and.not.include('client-key-data');
    const action = await zcloud.request('POST', `${API}/clusters/zc-east?action=getkubeconfig`, { token: admin });
    expect(action.status).to.equal(200);
    expect(action.body).to.deep.equal({ name: 'zc-east', config: kubeconfigs[0] });
  });

  it('validates imports: neither option, a bad kubeconfig, a duplicate, a non-admin', async () => {
    const neither = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'x' } });
    expect(neither.status).to.equal(422);
    expect(neither.body.message).to.match(/kubeconfig/).and.match(/nodes/);
    const bad = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'x', kubeconfig: 'clusters: [' } });
    expect(bad.status).to.equal(422);
    expect(bad.body.message).to.match(/^kubeconfig: /);
    const badName = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'Bad_Name', kubeconfig: kubeconfigs[0] } });
    expect(badName.status).to.equal(422);
    expect(badName.body.message).to.match(/^name: /);
    const dup = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'zc-east', kubeconfig: kubeconfigs[0] } });
    expect(dup.status).to.equal(409);
    await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'nobody', password: sha1('nobody') } });
    const user = await zcloud.login('nobody', sha1('nobody'));
    const byUser = await zcloud.request('POST', `${API}/clusters`, { token: user, body: { name: 'y', kubeconfig: kubeconfigs[0] } });
    expect(byUser.status).to.equal(403);
  });

  it('lists namespaces of each cluster from its own cache', async () => {
    await core[0].createNamespace({ body: { metadata: { name: 'only-east' } } });
    await eventually(
      async () => {
        const east = await zcloud.request('GET', `${API}/clusters/zc-east/namespaces`, { token: admin });
        expect(east.body.data.map((n: { id: string }) => n.id)).to.include.members(['default', 'kube-system', 'only-east']);
      },
      { within: 2000 },
    );
    const west = await zcloud.request('GET', `${API}/clusters/zc-west/namespaces`, { token: admin });
    expect(west.body.data.map((n: { id: string }) => n.id)).to.include('default').and.not.include('only-east');
  });

  it('creates and deletes namespaces in the real cluster, reading its own writes', async () => {
    const created = await zcloud.request('POST', `${API}/clusters/zc-west/namespaces`, { token: admin, body: { name: 'made-by-zcloud' } });
    expect(created.status).to.equal(201);
    expect(created.body).to.include({ id: 'made-by-zcloud', type: 'namespace', name: 'made-by-zcloud', status: 'Active' });
    const real = await core[1].readNamespace({ name: 'made-by-zcloud' });
    expect(real.metadata?.name).to.equal('made-by-zcloud');
    // Read-your-writes: the very next GET (served from the cache) has it.
    expect((await zcloud.request('GET', `${API}/clusters/zc-west/namespaces/made-by-zcloud`, { token: admin })).status).to.equal(200);
    const dup = await zcloud.request('POST', `${API}/clusters/zc-west/namespaces`, { token: admin, body: { name: 'made-by-zcloud' } });
    expect(dup.status).to.equal(409);
    const bad = await zcloud.request('POST', `${API}/clusters/zc-west/namespaces`, { token: admin, body: { name: 'Not_Valid' } });
    expect(bad.status).to.equal(422);
    const del = await zcloud.request('DELETE', `${API}/clusters/zc-west/namespaces/made-by-zcloud`, { token: admin });
    expect(del.status).to.equal(204);
    const after = await core[1].readNamespace({ name: 'made-by-zcloud' }).catch(() => undefined);
    expect(after === undefined || Boolean(after.metadata?.deletionTimestamp)).to.equal(true);
    // As the seed's clients do: DELETE (204 again while terminating) and GET until 404.
    const nsUrl = `${API}/clusters/zc-west/namespaces/made-by-zcloud`;
    await eventually(
      async () => {
        const view = await zcloud.request('GET', nsUrl, { token: admin });
        if (view.status === 200) expect(view.body).to.include({ status: 'Terminating' }).and.to.have.property('deletionTimestamp');
        const again = await zcloud.request('DELETE', nsUrl, { token: admin });
        expect(again.status, again.text).to.be.oneOf([204, 404]);
        expect(view.status).to.equal(404);
      },
      { within: 60_000, interval: 500 },
    );
    expect((await zcloud.request('DELETE', `${API}/clusters/zc-west/namespaces/never-was`, { token: admin })).status).to.equal(404);
  });

  it('carries the freshness headers on every response under a cluster', async () => {
    const res = await zcloud.request('GET', `${API}/clusters/zc-east/namespaces`, { token: admin });
    expect(res.headers.get('x-zcloud-cluster-state')).to.equal('Running');
    expect(res.headers.get('x-zcloud-cache-resource-version')).to.match(/^\d+$/);
    expect(Number(res.headers.get('x-zcloud-cache-age-ms'))).to.be.at.least(0);
  });

  it('answers 404 for an unknown cluster and 405 for undeclared methods', async () => {
    const res = await zcloud.request('GET', `${API}/clusters/nowhere/namespaces`, { token: admin });
    expect(res.status).to.equal(404);
    expect(res.body.code).to.equal('NotFound');
    expect((await zcloud.request('PUT', `${API}/clusters/zc-east/namespaces/default`, { token: admin, body: {} })).status).to.equal(405);
  });

  it('shows a change made directly in the cluster quickly (100 changes, p50/p99)', async () => {
    await core[0].createNamespace({ body: { metadata: { name: 'latency' } } });
    const informer = zcloud.running.services.clusters.get('zc-east')!.cache.informer('namespaces')!;
    const latencies: number[] = [];
    for (let i = 0; i < 100; i++) {
      const patched = await patchLabel(kubeconfigs[0], 'latency', String(i));
      const answeredAt = performance.now();
      const rv = patched.metadata.resourceVersion;
      const seen = await informer.waitFor((store) => Number(store.get(undefined, 'latency')?.metadata.resourceVersion ?? 0) >= Number(rv), 5000);
      expect(seen, `change ${i} reached the cache`).to.equal(true);
      latencies.push(performance.now() - answeredAt);
    }
    latencies.sort((a, b) => a - b);
    const p50 = percentile(latencies, 50);
    const p99 = percentile(latencies, 99);
    console.log(`      cache propagation over 100 changes: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms`);
    const res = await zcloud.request('GET', `${API}/clusters/zc-east/namespaces/latency`, { token: admin });
    expect(res.status).to.equal(200);
    expect(p99).to.be.lessThan(5000);
  });

  const scrape = async () => {
    const res = await zcloud.request('GET', '/metrics', { token: admin });
    expect(res.status, res.text).to.equal(200);
    return parseExposition(res.text);
  };

  it('exports each imported cluster Running, its informers synced and filled, and its health probes', async () => {
    const samples = await scrape();
    for (const cluster of names) {
      expect(valueOf(samples, 'zcloud_cluster_state', { cluster, state: 'Running' }), cluster).to.equal(1);
      const synced = samplesOf(samples, 'zcloud_informer_synced', { cluster });
      expect(synced.length, cluster).to.be.greaterThan(5);
      expect(synced.filter((s) => s.value !== 1).map((s) => s.labels.kind), cluster).to.deep.equal([]);
      expect(valueOf(samples, 'zcloud_informer_objects', { cluster, kind: 'nodes' }), cluster).to.equal(3);
      expect(valueOf(samples, 'zcloud_informer_lists_total', { cluster, kind: 'namespaces' }), cluster).to.be.at.least(1);
      expect(valueOf(samples, 'zcloud_informer_last_event_age_seconds', { cluster, kind: 'namespaces' }), cluster).to.be.within(0, 60);
      expect(valueOf(samples, 'zcloud_cluster_health_probe_duration_seconds_count', { cluster, outcome: 'ok' }), cluster).to.be.at.least(1);
    }
    expect(valueOf(samples, 'controller_runtime_reconcile_total', { controller: 'cluster-health', result: 'requeue' })).to.be.at.least(2);
  });

  it('resumes a watch that ended normally without listing again', async () => {
    const reflector = zcloud.running.services.clusters.get('zc-east')!.cache.informer('namespaces')!.reflector;
    const before = { ...reflector.stats };
    // ZCLOUD_WATCH_TIMEOUT=3s: the server ends each watch after 3-6 s.
    await eventually(() => expect(reflector.stats.watches).to.be.at.least(before.watches + 2), { within: 20_000, interval: 500 });
    expect(reflector.stats.lists).to.equal(before.lists);
    expect(reflector.stats.goneRelists).to.equal(before.goneRelists);
    // The same, as Prometheus sees it.
    const samples = await scrape();
    const labels = { cluster: 'zc-east', kind: 'namespaces' };
    expect(valueOf(samples, 'zcloud_informer_watches_total', labels)).to.be.at.least(before.watches + 2);
    expect(valueOf(samples, 'zcloud_informer_lists_total', labels)).to.equal(before.lists);
    await core[0].createNamespace({ body: { metadata: { name: 'after-resume' } } });
    await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/zc-east/namespaces/after-resume`, { token: admin })).status).to.equal(200), {
      within: 2000,
    });
  });

  it('lets a normal user see only granted namespaces and clusters where it holds a project', async () => {
    await core[0].createNamespace({ body: { metadata: { name: 'team' } } });
    await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'tina', password: sha1('tina'), projects: [{ cluster: 'zc-east', namespace: 'team' }] } });
    const tina = await zcloud.login('tina', sha1('tina'));
    const clusters = await zcloud.request('GET', `${API}/clusters`, { token: tina });
    expect(clusters.body.data.map((c: { id: string }) => c.id)).to.deep.equal(['zc-east']);
    await eventually(async () => {
      const ns = await zcloud.request('GET', `${API}/clusters/zc-east/namespaces`, { token: tina });
      expect(ns.body.data.map((n: { id: string }) => n.id)).to.deep.equal(['team']);
    }, { within: 2000 });
    expect((await zcloud.request('GET', `${API}/clusters/zc-east/namespaces/default`, { token: tina })).status).to.equal(403);
    expect((await zcloud.request('GET', `${API}/clusters/zc-west/namespaces`, { token: tina })).status).to.equal(403);
    expect((await zcloud.request('GET', `${API}/clusters/zc-west`, { token: tina })).status).to.equal(403);
    expect((await zcloud.request('POST', `${API}/clusters/zc-east/namespaces`, { token: tina, body: { name: 'mine' } })).status).to.equal(403);
    expect((await zcloud.request('DELETE', `${API}/clusters/zc-east`, { token: tina })).status).to.equal(403);
  });

  it('re-registers and re-syncs clusters after a zcloud restart', async () => {
    const dataDir = zcloud.dataDir;
    await zcloud.close();
    zcloud = await startTestZcloud({ dataDir, env: { ZCLOUD_HEALTH_INTERVAL: '1s', ZCLOUD_WATCH_TIMEOUT: '3s' } });
    admin = await zcloud.adminToken();
    for (const name of names) {
      await eventually(
        async () => expect((await zcloud.request('GET', `${API}/clusters/${name}`, { token: admin })).body.status).to.equal('Running'),
        { within: 30_000 },
      );
    }
    const ns = await zcloud.request('GET', `${API}/clusters/zc-east/namespaces`, { token: admin });
    expect(ns.body.data.map((n: { id: string }) => n.id)).to.include('only-east');
  });

  it('serves the kinds whose informers are healthy and answers 503 only for a failing one, naming it', async () => {
    // The same apiserver as zc-west, imported with a service account that may read everything but secrets.
    const kubeconfig = await limitedKubeconfig(clusters[1], 'zcloud-no-secrets');
    const imported = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'zc-limited', kubeconfig } });
    expect(imported.status, imported.text).to.equal(201);
    try {
      const path = `${API}/clusters/zc-limited`;
      const cluster = await eventually(
        async () => {
          const res = await zcloud.request('GET', path, { token: admin });
          expect(res.body.status).to.equal('Running');
          return res.body;
        },
        { within: 30_000, interval: 200 },
      );
      const secrets = cluster.informers.find((i: { kind: string }) => i.kind === 'secrets');
      expect(secrets.synced).to.equal(false);
      expect(secrets.lastError).to.match(/403|forbidden/i);
      expect(cluster.informers.find((i: { kind: string }) => i.kind === 'configmaps')).to.deep.equal({ kind: 'configmaps', synced: true, lastError: '' });
      const failing = await zcloud.request('GET', `${path}/namespaces/default/secrets`, { token: admin });
      expect(failing.status).to.equal(503);
      expect(failing.body.code).to.equal('ClusterUnavailable');
      expect(failing.body.message).to.match(/secrets cache is failing/);
      const served = await zcloud.request('GET', `${path}/namespaces/default/configmaps`, { token: admin });
      expect(served.status, served.text).to.equal(200);
      expect((await zcloud.request('GET', `${path}/namespaces`, { token: admin })).status).to.equal(200);

      // A write its credentials may not do is the cluster refusing zcloud, not the admin: 502, naming the cluster.
      const write = () => zcloud.request('POST', `${path}/namespaces/default/configmaps`, { token: admin, body: { name: 'denied', configs: [{ name: 'k', data: 'v' }] } });
      const refused = await write();
      expect(refused.status, refused.text).to.equal(502);
      expect(refused.body.code).to.equal('ClusterRefused');
      expect(refused.body.message).to.include('zc-limited').and.include('lack this right');
      // Its token voided (the token Secret deleted): 503 naming the cluster, never a 500.
      const account = await core[1].readNamespacedServiceAccount({ name: 'zcloud-no-secrets', namespace: 'default' });
      await core[1].deleteNamespacedSecret({ name: account.secrets![0]!.name!, namespace: 'default' });
      await eventually(
        async () => {
          const voided = await write();
          expect(voided.status, voided.text).to.equal(503);
          expect(voided.body.message).to.include('zc-limited');
        },
        { within: 15_000, interval: 300 },
      );
    } finally {
      await zcloud.request('DELETE', `${API}/clusters/zc-limited`, { token: admin });
    }
  });

  it('keeps a cluster with an exec credential plugin reachable past its first token (credentials taken per request)', async () => {
    // The plugin prints what the test puts in a file: first account a's token, expiring in 2 s.
    for (const account of ['zcloud-exec-a', 'zcloud-exec-b']) await adminServiceAccount(clusters[1], account);
    const [tokenA, tokenB] = [await serviceAccountToken(clusters[1], 'zcloud-exec-a'), await serviceAccountToken(clusters[1], 'zcloud-exec-b')];
    const dir = tempDir('zcloud-exec-');
    const credentialFile = path.join(dir, 'credential.json');
    const plugin = path.join(dir, 'credential-plugin');
    const credential = (token: string, lifetimeMs: number) =>
      JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { token, expirationTimestamp: new Date(Date.now() + lifetimeMs).toISOString() } });
    writeFileSync(credentialFile, credential(tokenA, 2_000));
    writeFileSync(plugin, `#!/bin/sh\ncat '${credentialFile}'\n`, { mode: 0o755 });
    const kubeconfig = userKubeconfig(clusters[1], 'exec-user', { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin } });
    const imported = await zcloud.request('POST', `${API}/clusters`, { token: admin, body: { name: 'zc-exec', kubeconfig } });
    expect(imported.status, imported.text).to.equal(201);
    try {
      await eventually(async () => expect((await zcloud.request('GET', `${API}/clusters/zc-exec`, { token: admin })).body.status).to.equal('Running'), { within: 30_000 });
      // The plugin now hands out b's token, and a's stops working: only a fresh credential opens the cluster.
      writeFileSync(credentialFile, credential(tokenB, 3_600_000));
      const accountA = await core[1].readNamespacedServiceAccount({ name: 'zcloud-exec-a', namespace: 'default' });
      await core[1].deleteNamespacedSecret({ name: accountA.secrets![0]!.name!, namespace: 'default' });
      const withTokenA = new KubeConfig();
      withTokenA.loadFromString(userKubeconfig(clusters[1], 'a', { token: tokenA }));
      await eventually(
        async () => {
          const answer = await withTokenA.makeApiClient(CoreV1Api).listNamespace().then(() => 200, (err: { code?: number }) => err.code);
          expect(answer, "account a's token refused by the apiserver").to.equal(401);
        },
        { within: 30_000, interval: 500 },
      );
      const created = await zcloud.request('POST', `${API}/clusters/zc-exec/namespaces`, { token: admin, body: { name: 'made-after-rotation' } });
      expect(created.status, created.text).to.equal(201);
      expect((await core[1].readNamespace({ name: 'made-after-rotation' })).metadata?.name).to.equal('made-after-rotation');
    } finally {
      await zcloud.request('DELETE', `${API}/clusters/zc-exec`, { token: admin });
    }
  });

  it('deleting a cluster stops its cache, drops it and revokes projects on it', async () => {
    const res = await zcloud.request('DELETE', `${API}/clusters/zc-east`, { token: admin });
    expect(res.status).to.equal(204);
    expect((await zcloud.request('GET', `${API}/clusters/zc-east`, { token: admin })).status).to.equal(404);
    expect((await zcloud.request('GET', `${API}/clusters/zc-east/namespaces`, { token: admin })).status).to.equal(404);
    const tina = await zcloud.request('GET', `${API}/users/tina`, { token: admin });
    expect(tina.body.projects).to.deep.equal([]);
    expect(zcloud.running.services.clusters.get('zc-east')).to.equal(undefined);
    // Its series go with it; the other cluster's stay.
    await eventually(async () => expect((await scrape()).filter((x) => x.labels.cluster === 'zc-east')).to.deep.equal([]), { within: 5000 });
    expect(samplesOf(await scrape(), 'zcloud_informer_synced', { cluster: 'zc-west' })).to.not.deep.equal([]);
    const stored = JSON.parse(readFileSync(`${zcloud.dataDir}/zcloud.json`, 'utf8'));
    expect(Object.keys(stored.collections.clusters)).to.deep.equal(['zc-west']);
    // The real cluster is untouched: zcloud only forgot it.
    expect((await core[0].readNamespace({ name: 'team' })).metadata?.name).to.equal('team');
  });
});

/**
 * A kubeconfig for `cluster` as service account `name` in `default`, bound to a ClusterRole that
 * reads (get/list/watch) every kind zcloud caches except secrets.
 */
async function limitedKubeconfig(cluster: TestCluster, name: string): Promise<string> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  const rbac = cluster.kc.makeApiClient(RbacAuthorizationV1Api);
  const read = ['get', 'list', 'watch'];
  await core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name } } });
  await rbac.createClusterRole({
    body: {
      metadata: { name },
      rules: [
        {
          apiGroups: [''],
          resources: ['namespaces', 'nodes', 'pods', 'configmaps', 'services', 'endpoints', 'persistentvolumes', 'persistentvolumeclaims', 'resourcequotas', 'limitranges', 'events'],
          verbs: read,
        },
        { apiGroups: ['apps', 'batch', 'networking.k8s.io', 'extensions', 'storage.k8s.io', 'storage.zcloud.cn'], resources: ['*'], verbs: read },
      ],
    },
  });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
    },
  });
  return userKubeconfig(cluster, name, { token: await serviceAccountToken(cluster, name) });
}

/** The token of service account `name` in `default` (Kubernetes 1.20's token controller writes a token Secret for each). */
async function serviceAccountToken(cluster: TestCluster, name: string): Promise<string> {
  const core = cluster.kc.makeApiClient(CoreV1Api);
  return eventually(
    async () => {
      const account = await core.readNamespacedServiceAccount({ name, namespace: 'default' });
      const secretName = account.secrets?.[0]?.name;
      expect(secretName, 'token secret').to.be.a('string');
      const secret = await core.readNamespacedSecret({ name: secretName!, namespace: 'default' });
      return Buffer.from(secret.data!.token!, 'base64').toString();
    },
    { within: 30_000, interval: 200 },
  );
}

/** A kubeconfig for `cluster`'s apiserver with `user` (a token, an exec plugin...) as its credentials. */
function userKubeconfig(cluster: TestCluster, userName: string, user: Record<string, unknown>): string {
  const server = cluster.kc.getCurrentCluster()!;
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'target', cluster: { server: server.server, 'certificate-authority-data': server.caData } }],
    users: [{ name: userName, user }],
    contexts: [{ name: 'target', context: { cluster: 'target', user: userName } }],
    'current-context': 'target',
  });
}

/** Service account `name` in `default`, bound to cluster-admin. */
async function adminServiceAccount(cluster: TestCluster, name: string): Promise<void> {
  await cluster.kc.makeApiClient(CoreV1Api).createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name } } });
  await cluster.kc.makeApiClient(RbacAuthorizationV1Api).createClusterRoleBinding({
    body: {
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      subjects: [{ kind: 'ServiceAccount', name, namespace: 'default' }],
    },
  });
}

function parseQuantityMilli(text: string): number {
  return text.endsWith('m') ? Number(text.slice(0, -1)) : Number(text) * 1000;
}

/** A merge patch of one label, with the content type client-node's typed call may not set. */
async function patchLabel(kubeconfig: string, name: string, value: string): Promise<{ metadata: { resourceVersion: string } }> {
  const { KubeHttp } = await import('../../src/kube/kube-http.js');
  const http = KubeHttp.fromYaml(kubeconfig);
  try {
    return await http.request('PATCH', `/api/v1/namespaces/${name}`, {
      body: { metadata: { labels: { step: value } } },
      contentType: 'application/merge-patch+json',
    });
  } finally {
    http.close();
  }
}
