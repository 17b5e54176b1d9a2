import { expect } from 'chai';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { openSocket, upgradeStatus, wsBase, WS, type TestSocket } from '../helpers/streams.js';
import { eventually, freshNamespace } from '../helpers/world.js';

interface WatchFrame {
  type: string;
  cursor: string | null;
  object?: { id: string; type: string; name: string; configs: Array<{ name: string; data: string }>; links: Record<string, string> };
  message?: string;
}

/** Changes kept per cluster and kind in this suite: small, so a cursor can be outrun. */
const HISTORY = 40;

describe('resumable watch', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let base: string;
  let ns: string;
  let collection: string;
  const sockets: TestSocket[] = [];
  const watch = async (query: string, token = env.admin): Promise<TestSocket> => {
    const socket = await openSocket(`${base}${WS}/watch?url=${encodeURIComponent(collection)}&token=${token}${query}`);
    sockets.push(socket);
    return socket;
  };
  const synced = (frames: string[]) => frames.some((f) => JSON.parse(f).type === 'SYNCED');
  const configmap = (name: string, data: string) => ({ name, configs: [{ name: 'key', data }] });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await env.api(method, path, { body });
    expect(res.status, `${method} ${path}: ${res.text}`).to.be.oneOf([200, 201, 204]);
  };

  before(async () => {
    env = await importedCluster('st-watch', { zcloud: { env: { ZCLOUD_WATCH_HISTORY: String(HISTORY), ZCLOUD_STREAM_MAX_BUFFER: '1024' } } });
    base = wsBase(env.zcloud.url);
    ns = await freshNamespace(env.cluster.kc, 'watch');
    collection = `${env.nsPath(ns)}/configmaps`;
    for (const name of ['a', 'b', 'c']) await api('POST', collection, configmap(name, 'v1'));
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(() => env?.close());

  it('lists the collection in its REST shape, then sends changes as they happen', async () => {
    const socket = await watch('');
    await socket.until(synced);
    const listed = socket.json<WatchFrame>().filter((f) => f.type === 'ADDED').map((f) => f.object!);
    expect(listed.map((o) => o.name)).to.include.members(['a', 'b', 'c']);
    const rest = await env.api('GET', `${collection}/a`);
    expect(listed.find((o) => o.name === 'a')).to.deep.equal(rest.body);

    await api('PUT', `${collection}/a`, configmap('a', 'v2'));
    await socket.until((frames) => frames.some((f) => JSON.parse(f).type === 'MODIFIED'));
    const modified = socket.json<WatchFrame>().find((f) => f.type === 'MODIFIED')!;
    expect(modified.object).to.deep.include({ id: 'a', type: 'configmap', configs: [{ name: 'key', data: 'v2' }] });
    expect(modified.cursor).to.be.a('string');
  });

  it('replays exactly the changes missed while disconnected, from the last cursor', async () => {
    const first = await watch('');
    await first.until(synced);
    const cursor = first.json<WatchFrame>().at(-1)!.cursor!;
    await first.close();

    // Ten changes: four creates, four updates, two deletes.
    for (const name of ['d', 'e', 'f', 'g']) await api('POST', collection, configmap(name, 'v1'));
    for (const name of ['b', 'c', 'd', 'e']) await api('PUT', `${collection}/${name}`, configmap(name, 'v3'));
    for (const name of ['f', 'g']) await api('DELETE', `${collection}/${name}`);

    const resumed = await watch(`&since=${cursor}`);
    await resumed.until(synced);
    const frames = resumed.json<WatchFrame>();
    const changes = frames.filter((f) => f.type !== 'SYNCED').map((f) => `${f.type} ${f.object!.name}`);
    expect(changes).to.deep.equal([
      'ADDED d', 'ADDED e', 'ADDED f', 'ADDED g',
      'MODIFIED b', 'MODIFIED c', 'MODIFIED d', 'MODIFIED e',
      'DELETED f', 'DELETED g',
    ]);
    const cursors = frames.filter((f) => f.type !== 'SYNCED').map((f) => f.cursor);
    expect(new Set(cursors).size).to.equal(10);
    expect(frames.at(-1)).to.deep.equal({ type: 'SYNCED', cursor: cursors.at(-1) });

    // Resuming from the last replayed change gives nothing more.
    const again = await watch(`&since=${frames.at(-2)!.cursor}`);
    await again.until(synced);
    expect(again.json<WatchFrame>().map((f) => f.type)).to.deep.equal(['SYNCED']);
  });

  it('answers a cursor too old (or not zcloud\'s) with an expired frame and close code 4010', async () => {
    const first = await watch('');
    await first.until(synced);
    const cursor = first.json<WatchFrame>().at(-1)!.cursor!;
    await first.close();
    for (let i = 0; i <= HISTORY; i++) await api('PUT', `${collection}/a`, configmap('a', `round-${i}`));

    for (const since of [cursor, 'deadbeef.1', 'garbage']) {
      const stale = await watch(`&since=${since}`);
      const { code } = await stale.closed;
      expect(code).to.equal(4010);
      const frames = stale.json<WatchFrame>();
      expect(frames).to.have.length(1);
      expect(frames[0]).to.include({ type: 'expired', cursor: null });
      expect(frames[0].message).to.match(/list again/);
    }
  });

  it('is authorized as a GET of the collection, before the upgrade', async () => {
    const outsider = await env.userWith('watcher', [{ namespace: 'default' }]);
    const url = (target: string, token: string) => `${base}${WS}/watch?url=${encodeURIComponent(target)}&token=${token}`;
    expect(await upgradeStatus(url(collection, outsider))).to.equal(403);
    expect(await upgradeStatus(url(collection, 'bad'))).to.equal(401);
    expect(await upgradeStatus(url(`${env.nsPath(ns)}/nothings`, env.admin))).to.equal(404);
    expect(await upgradeStatus(url(`${env.nsPath(ns)}/configmaps/a`, env.admin))).to.equal(422);
    expect(await upgradeStatus(url('/elsewhere', env.admin))).to.equal(422);
  });

  it('drops a client that stops reading, and counts it gone', async () => {
    // Enough data that loopback's socket buffers fill: 12 configmaps of ~700 kB.
    const big = 'x'.repeat(700_000);
    for (let i = 0; i < 12; i++) await api('POST', collection, configmap(`big-${i}`, big));
    const stalled = await watch('');
    (stalled.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await eventually(async () => {
      const metrics = await env.api('GET', '/metrics');
      expect(metrics.text).to.match(/zcloud_websocket_connections\{endpoint="\/watch"\} 0\b/);
    }, { within: 10_000 });
    expect(env.zcloud.logs()).to.match(/stream dropped: the client reads too slowly/);
  });
});
