import { AppsV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { API, sha1 } from '../helpers/zcloud.js';

interface Listed {
  id?: unknown;
  links?: Record<string, string>;
}

/**
 * What the seed's clients rely on (issue 15), against a real cluster: every list item has an
 * id and `self` = collection URL + "/" + id (the console builds URLs that way), DELETE answers
 * 204 for every kind, and either spelling of a protocol makes the same object.
 */
describe('the seed clients of 2019: ids, self links, 204 on DELETE, protocol spellings', function () {
  this.timeout(180_000);
  let env: ImportedCluster;
  let ns: string;
  let apps: AppsV1Api;
  const workload = (name: string, protocol?: string) => ({
    name,
    replicas: 1,
    containers: [{ name: 'web', image: 'nginx:1.19', ...(protocol ? { exposedPorts: [{ name: 'http', port: 80, protocol }] } : {}) }],
  });

  before(async () => {
    env = await importedCluster('compat');
    apps = env.cluster.kc.makeApiClient(AppsV1Api);
    ns = await freshNamespace(env.cluster.kc, 'compat');
    const at = (collection: string) => `${env.nsPath(ns)}/${collection}`;
    const job = { name: 'once', restartPolicy: 'Never', containers: [{ name: 'main', image: 'busybox', command: ['date'] }] };
    const bodies: Array<[string, unknown]> = [
      ['configmaps', { name: 'app', configs: [{ name: 'k', data: 'v' }] }],
      ['secrets', { name: 'db', data: [{ key: 'k', value: 'v' }] }],
      // What the console sends for a service: upper-case protocols and fields zcloud does not use.
      ['services', { name: 'web', serviceType: 'clusterip', targetResourceType: 'deployment', targetName: 'web', exposedPorts: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, enable: true }] }],
      ['deployments', workload('web', 'tcp')],
      ['daemonsets', { name: 'agent', containers: [{ name: 'agent', image: 'fluentd:1' }] }],
      ['jobs', { ...job, replicas: 1 }],
      ['cronjobs', { ...job, name: 'tick', schedule: '*/5 * * * *', replicas: 1 }],
      ['limitranges', { name: 'bounds', max: { cpu: '2' }, min: {} }],
    ];
    for (const [collection, body] of bodies) {
      const res = await env.api('POST', at(collection), { body });
      expect(res.status, `${collection}: ${res.text}`).to.equal(201);
    }
    const user = await env.api('POST', `${API}/users`, { body: { name: 'compat-user', password: sha1('pw'), projects: [] } });
    expect(user.status, user.text).to.equal(201);
    const quota = await env.api('POST', `${API}/userquotas`, {
      body: { namespace: 'compat-quota', cpu: '1', memory: '1Gi', storage: '1Gi', purpose: 'compat', requestor: 'c', telephone: '1', userName: 'c' },
    });
    expect(quota.status, quota.text).to.equal(201);
    // The deployment's pod, so the pod lists under it have an item.
    await eventually(async () => expect((await env.api('GET', `${at('deployments')}/web/pods`)).body.data).to.have.length.greaterThan(0), {
      within: 30_000,
      interval: 300,
    });
    // zcloud installs the Application CRD once the cluster is attached; until its informer runs the kind answers 503.
    await eventually(async () => expect((await env.api('GET', at('applications'))).status).to.equal(200), { within: 30_000, interval: 300 });
  });
  after(() => env?.close());

  /**
   * Every collection reachable from the API root: each list, then the child collections of
   * (at most two) of its items, preferring the test's own namespace; the big system namespaces
   * are not walked into.
   */
  async function sweep(visit: (collectionUrl: string, items: Listed[]) => void): Promise<number> {
    const origin = env.zcloud.url;
    const seen = new Set<string>();
    const pending = ['users', 'userquotas', 'auditlogs', 'clusters'].map((c) => `${API}/${c}`);
    while (pending.length > 0) {
      const path = pending.shift()!;
      if (seen.has(path)) continue;
      seen.add(path);
      const res = await env.api('GET', path);
      expect(res.status, `${path}: ${res.text}`).to.equal(200);
      // A text resource (a cluster's zkelog) is a link too, but no collection to walk.
      if (!res.headers.get('content-type')?.includes('json')) continue;
      expect(res.body.type, path).to.equal('collection');
      const items: Listed[] = res.body.data;
      visit(res.body.links.self as string, items);
      const walk = [...items.filter((i) => i.id === ns), ...items.filter((i) => i.id !== ns && !String(i.id).startsWith('kube-'))].slice(0, 2);
      for (const item of walk) {
        const self = item.links?.self ?? `${res.body.links.self}/${String(item.id)}`;
        for (const [name, link] of Object.entries(item.links ?? {})) {
          if (['self', 'collection', 'update', 'remove'].includes(name)) continue;
          if (link.startsWith(`${self}/`)) pending.push(link.slice(origin.length));
        }
      }
    }
    return seen.size;
  }

  it('gives every item of every list an id, and self = collection URL + "/" + id', async () => {
    const problems: string[] = [];
    const kinds = new Set<string>();
    const visited = await sweep((collectionUrl, items) => {
      kinds.add(collectionUrl.split('/').pop()!);
      for (const item of items) {
        if (typeof item.id !== 'string' || item.id === '') problems.push(`${collectionUrl}: an item without id`);
        else if (item.links?.self !== `${collectionUrl}/${encodeURIComponent(item.id)}`) {
          problems.push(`${collectionUrl}/${item.id}: self is ${item.links?.self}`);
        }
      }
    });
    expect(problems).to.deep.equal([]);
    expect(visited).to.be.greaterThan(25);
    // The sweep reached the derived views too.
    for (const derived of ['innerservices', 'outerservices', 'podnetworks', 'servicenetworks', 'nodenetworks', 'blockdevices', 'pods', 'nodes']) {
      expect([...kinds], derived).to.include(derived);
    }
  });

  it('makes the same deployment from tcp and TCP', async () => {
    const url = `${env.nsPath(ns)}/deployments`;
    expect((await env.api('POST', url, { body: workload('lower', 'tcp') })).status).to.equal(201);
    expect((await env.api('POST', url, { body: workload('upper', 'TCP') })).status).to.equal(201);
    const ports = async (name: string) => (await apps.readNamespacedDeployment({ name, namespace: ns })).spec?.template.spec?.containers[0].ports;
    expect(await ports('upper')).to.deep.equal(await ports('lower'));
    const answered = await env.api('GET', `${url}/upper`);
    expect(answered.body.containers[0].exposedPorts[0].protocol).to.equal('tcp');
  });

  it('provides the fields the console reads where the seed is silent, from the caches', async () => {
    const pods = await env.api('GET', `${env.nsPath(ns)}/deployments/web/pods`);
    expect(pods.body.data[0].state).to.be.a('string').and.not.equal('');
    await eventually(
      async () => {
        const web = await env.api('GET', `${env.nsPath(ns)}/deployments/web`);
        expect(web.body.status).to.include({ replicas: 1, readyReplicas: 1 });
      },
      { within: 30_000, interval: 300 },
    );
    const agent = await env.api('GET', `${env.nsPath(ns)}/daemonsets/agent`);
    expect(agent.body.status).to.have.property('readyReplicas').that.is.a('number');
    expect(agent.body.status.replicas).to.equal(agent.body.status.desiredNumberScheduled);
    const namespace = await env.api('GET', env.nsPath(ns));
    expect(namespace.body.podUsed).to.be.greaterThan(0);
    expect(namespace.body).to.have.property('cpuUsed').that.is.a('number');
    expect(namespace.body).to.have.property('memoryUsed').that.is.a('number');
  });

  it('answers DELETE with 204 for every kind it can delete', async () => {
    const removable: string[] = [];
    await sweep((collectionUrl, items) => {
      const mine = items.filter((i) => i.links?.remove && (collectionUrl.includes(`/namespaces/${ns}/`) || ['compat-user', 'compat-quota'].includes(String(i.id))));
      if (mine[0]) removable.push(mine[0].links!.remove.slice(env.zcloud.url.length));
    });
    const kinds = removable.map((url) => url.split('/').slice(-2, -1)[0]);
    for (const kind of ['configmaps', 'secrets', 'services', 'deployments', 'daemonsets', 'jobs', 'cronjobs', 'limitranges', 'pods', 'users', 'userquotas']) {
      expect(kinds, kind).to.include(kind);
    }
    // Pods first: their owners' deletion would take them along.
    for (const url of removable.sort((a, b) => Number(b.includes('/pods/')) - Number(a.includes('/pods/')))) {
      const res = await env.api('DELETE', url, { headers: { 'content-type': 'application/json' } });
      expect(res.status, `${url}: ${res.text}`).to.equal(204);
    }
    const namespace = await env.api('DELETE', env.nsPath(ns));
    expect(namespace.status, namespace.text).to.equal(204);
  });
});
