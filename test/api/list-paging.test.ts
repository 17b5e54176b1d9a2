import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { eventually, freshNamespace } from '../helpers/world.js';
import { sha1 } from '../helpers/zcloud.js';

interface Collection {
  type: string;
  data: Array<{ id: string; links: Record<string, string> }>;
  continue?: string;
}

/** GET with node:http, so the raw (compressed) bytes and headers are seen as sent. */
function rawGet(url: string, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, bytes: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('lists: ETag from the cache version, limit/continue pages, compression', function () {
  this.timeout(180_000);
  const REPLICAS = 12;
  let env: ImportedCluster;
  let core: CoreV1Api;
  let ns: string;
  let pods: string;

  before(async () => {
    env = await importedCluster('perf-lists');
    core = env.cluster.kc.makeApiClient(CoreV1Api);
    ns = await freshNamespace(env.cluster.kc, 'lists');
    const created = await env.api('POST', `${env.nsPath(ns)}/deployments`, {
      body: { name: 'web', replicas: REPLICAS, containers: [{ name: 'web', image: 'nginx:1.19' }] },
    });
    expect(created.status, created.text).to.equal(201);
    pods = `${env.nsPath(ns)}/deployments/web/pods`;
    await eventually(async () => expect((await env.api<Collection>('GET', pods)).body.data).to.have.length(REPLICAS), { within: 60_000, interval: 300 });
  });
  after(() => env?.close());

  it('answers a plain list as before: the seed envelope, no continue, an ETag', async () => {
    const res = await env.api<Collection>('GET', pods);
    expect(res.status).to.equal(200);
    expect(Object.keys(res.body)).to.deep.equal(['type', 'resourceType', 'links', 'data']);
    expect(res.headers.get('content-type')).to.match(/^application\/json; charset=utf-8/);
    const ids = res.body.data.map((p) => p.id);
    expect(ids).to.deep.equal([...ids].sort((a, b) => a.localeCompare(b)));
    for (const pod of res.body.data) {
      expect(Object.keys(pod).slice(0, 4)).to.deep.equal(['id', 'type', 'links', 'creationTimestamp']);
      expect(pod.links).to.deep.equal({ self: `${env.zcloud.url}${pods}/${pod.id}`, collection: `${env.zcloud.url}${pods}`, remove: `${env.zcloud.url}${pods}/${pod.id}` });
    }
    expect(res.headers.get('etag')).to.match(/^W\/"[A-Za-z0-9_-]+"$/);
  });

  it('answers 304 while nothing in the cluster changed, and the new list once something did', async () => {
    // The simulated kubelets may still be settling the pods' status: wait for a quiet cluster.
    const { first, etag, again } = await eventually(
      async () => {
        const first = await env.api('GET', pods);
        const etag = first.headers.get('etag')!;
        const again = await env.api('GET', pods, { headers: { 'if-none-match': etag } });
        expect(again.status).to.equal(304);
        return { first, etag, again };
      },
      { within: 20_000, interval: 500 },
    );
    expect(again.text).to.equal('');
    // Another user (another view) never gets the admin's version.
    const viewer = await env.userWith('lists-viewer', [{ namespace: ns }]);
    const asViewer = await env.zcloud.request('GET', pods, { token: viewer, headers: { 'if-none-match': etag } });
    expect(asViewer.status).to.equal(200);

    const victim = first.body.data[0].id as string;
    await core.patchNamespacedPod({ name: victim, namespace: ns, body: [{ op: 'add', path: '/metadata/labels/touched', value: 'yes' }] });
    await eventually(async () => {
      const changed = await env.api('GET', pods, { headers: { 'if-none-match': etag } });
      expect(changed.status).to.equal(200);
      expect(changed.headers.get('etag')).to.not.equal(etag);
    }, { within: 10_000 });
  });

  it('serves the same items from its fragment cache as from translating each pod, also after pods changed', async () => {
    // A filter on a field no pod has keeps every pod but takes the translating path.
    const fromFragments = await env.api('GET', pods);
    const translated = await env.api('GET', `${pods}?nosuchfield=x`);
    expect(fromFragments.text).to.equal(translated.text);
    expect(fromFragments.body.data).to.have.length(REPLICAS);
  });

  it('pages with limit/continue from one snapshot, even while pods change', async () => {
    const whole = (await env.api<Collection>('GET', pods)).body.data.map((p) => p.id);
    const first = await env.api<Collection>('GET', `${pods}?limit=5`);
    expect(first.status, first.text).to.equal(200);
    expect(Object.keys(first.body)).to.deep.equal(['type', 'resourceType', 'links', 'data', 'continue']);
    expect(first.body.data.map((p) => p.id)).to.deep.equal(whole.slice(0, 5));
    // A pod goes meanwhile: the pages still show the list as it was when paging began.
    await core.deleteNamespacedPod({ name: whole[7], namespace: ns, gracePeriodSeconds: 0 });
    await eventually(async () => expect((await env.api<Collection>('GET', pods)).body.data.map((p) => p.id)).to.not.include(whole[7]), { within: 10_000 });
    const seen = first.body.data.map((p) => p.id);
    let token = first.body.continue;
    while (token) {
      const page = await env.api<Collection>('GET', `${pods}?limit=5&continue=${encodeURIComponent(token)}`);
      expect(page.status, page.text).to.equal(200);
      seen.push(...page.body.data.map((p) => p.id));
      token = page.body.continue;
    }
    expect(seen).to.deep.equal(whole);
    const all = await env.api<Collection>('GET', `${pods}?limit=1000`);
    expect(all.body).to.not.have.property('continue');
  });

  it('refuses bad paging parameters with the seed error shape', async () => {
    const zero = await env.api('GET', `${pods}?limit=0`);
    expect(zero.status).to.equal(422);
    expect(zero.body).to.deep.equal({ type: 'error', status: 422, code: 'InvalidInput', message: 'limit: must be a whole number from 1 to 100000' });
    const junk = await env.api('GET', `${pods}?continue=abc`);
    expect(junk.status).to.equal(422);
    expect(junk.body.message).to.equal('continue: is not a continue token zcloud issued');
    const unknown = await env.api('GET', `${pods}?continue=${'A'.repeat(22)}.5`);
    expect(unknown.status).to.equal(410);
    expect(unknown.body).to.include({ type: 'error', status: 410, code: 'Expired' });
    expect(unknown.body.message).to.match(/^continue: .*list again without continue$/);
    // A token is the lister's own: another user, or another collection, cannot continue it.
    const first = await env.api<Collection>('GET', `${pods}?limit=2`);
    const viewer = await env.zcloud.login('lists-viewer', sha1('lists-viewer-pw'));
    const stolen = await env.zcloud.request('GET', `${pods}?continue=${first.body.continue}`, { token: viewer });
    expect(stolen.status).to.equal(422);
    expect(stolen.body.message).to.equal('continue: belongs to another list or another user');
  });

  it("keeps a namespace's figures right while they are reused between changes", async () => {
    const before = await env.api('GET', env.nsPath(ns));
    expect(before.status, before.text).to.equal(200);
    expect(before.body.cpuUsed).to.equal(0);
    expect((await env.api('GET', env.nsPath(ns))).body).to.deep.equal(before.body);
    await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: 'sized' }, spec: { containers: [{ name: 'c', image: 'busybox', resources: { requests: { cpu: '250m', memory: '64Mi' } } }] } },
    });
    await eventually(async () => {
      const after = await env.api('GET', env.nsPath(ns));
      expect(after.body.cpuUsed).to.equal(250);
      expect(after.body.memoryUsed).to.equal(before.body.memoryUsed + 64 * 2 ** 20);
      expect(after.body.podUsed).to.equal(before.body.podUsed + 1);
    }, { within: 10_000 });
  });

  it('compresses a large list with gzip or br when asked, to the same JSON', async () => {
    const url = `${env.zcloud.url}${pods}`;
    const auth = { authorization: `Bearer ${env.admin}` };
    const plain = await rawGet(url, auth);
    expect(plain.bytes.length).to.be.greaterThan(16 * 1024);
    expect(plain.headers['content-encoding']).to.equal(undefined);
    const gzip = await rawGet(url, { ...auth, 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).to.equal('gzip');
    expect(gzip.bytes.length).to.be.lessThan(plain.bytes.length / 4);
    expect(JSON.parse(gunzipSync(gzip.bytes).toString('utf8'))).to.deep.equal(JSON.parse(plain.bytes.toString('utf8')));
    const br = await rawGet(url, { ...auth, 'accept-encoding': 'br' });
    expect(br.headers['content-encoding']).to.equal('br');
    expect(JSON.parse(brotliDecompressSync(br.bytes).toString('utf8'))).to.deep.equal(JSON.parse(plain.bytes.toString('utf8')));
    expect(String(br.headers.vary)).to.match(/Accept-Encoding/i);
  });
});
