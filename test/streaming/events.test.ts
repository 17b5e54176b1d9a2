import { expect } from 'chai';
import SockJS from 'sockjs-client';
import type { ClusterEvent as EventFrame } from '../../src/streaming/cluster-events.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { openSocket, upgradeStatus, wsBase, WS, type TestSocket } from '../helpers/streams.js';
import { freshNamespace } from '../helpers/world.js';

describe('event stream', function () {
  this.timeout(120_000);
  let env: ImportedCluster;
  let base: string;
  let mine: string;
  let theirs: string;
  let userToken: string;
  const sockets: TestSocket[] = [];
  const open = async (path: string, headers: Record<string, string> = {}): Promise<TestSocket> => {
    const socket = await openSocket(`${base}${path}`, headers);
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    env = await importedCluster('st-events');
    base = wsBase(env.zcloud.url);
    mine = await freshNamespace(env.cluster.kc, 'mine');
    theirs = await freshNamespace(env.cluster.kc, 'theirs');
    userToken = await env.userWith('evuser', [{ namespace: mine }]);
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  after(() => env?.close());

  const deployment = (name: string) => ({ name, replicas: 1, containers: [{ name: 'web', image: 'nginx:1.19' }] });
  const scaled = (name: string) => (frames: string[]) =>
    frames.map((f) => JSON.parse(f) as EventFrame).some((e) => e.kind === 'Deployment' && e.name === name && e.reason === 'ScalingReplicaSet');

  it('refuses an upgrade without a token (401), from another origin or outside the cluster (403), before upgrading', async () => {
    const path = `${base}${WS}/clusters/st-events/event`;
    expect(await upgradeStatus(path)).to.equal(401);
    expect(await upgradeStatus(`${path}?token=not-a-jwt`)).to.equal(401);
    expect(await upgradeStatus(path, { authorization: `Bearer ${env.admin}`, origin: 'http://evil.example' })).to.equal(403);
    expect(await upgradeStatus(path, { authorization: `Bearer ${env.admin}`, origin: env.zcloud.url })).to.equal(101);
    const stranger = await env.userWith('evstranger', [{ cluster: 'elsewhere', namespace: 'default' }]);
    expect(await upgradeStatus(`${path}?token=${stranger}`)).to.equal(403);
    expect(await upgradeStatus(`${base}${WS}/clusters/absent/event?token=${env.admin}`)).to.equal(404);
    expect(await upgradeStatus(`${base}${WS}/nothing-here?token=${env.admin}`)).to.equal(404);
  });

  it('sends the events of a new deployment within 2 s, with the backlog to a later socket, and counts the sockets', async () => {
    const live = await open(`${WS}/clusters/st-events/event?token=${env.admin}`);
    const created = await env.api('POST', `${env.nsPath(mine)}/deployments`, { body: deployment('web') });
    expect(created.status, created.text).to.equal(201);
    await live.until(scaled('web'), 2000);
    const event = live.json<EventFrame>().find((e) => e.kind === 'Deployment' && e.name === 'web')!;
    expect(event).to.include({ namespace: mine, type: 'Normal', reason: 'ScalingReplicaSet', source: 'deployment-controller' });
    expect(event.message).to.match(/^Scaled up replica set web-/);
    expect(Date.parse(event.time)).to.be.closeTo(Date.now(), 60_000);

    // A socket opened later gets it from the backlog.
    const later = await open(`${WS}/clusters/st-events/event`, { authorization: `Bearer ${env.admin}` });
    await later.until(scaled('web'), 2000);

    const metrics = await env.api('GET', '/metrics');
    expect(metrics.text).to.match(/zcloud_websocket_connections\{endpoint="\/clusters\/\{cluster\}\/event"\} 2\b/);
  });

  it('shows a normal user the events of its namespaces only', async () => {
    const user = await open(`${WS}/clusters/st-events/event?token=${userToken}`);
    const admin = await open(`${WS}/clusters/st-events/event?token=${env.admin}`);
    for (const ns of [theirs, mine]) {
      const res = await env.api('POST', `${env.nsPath(ns)}/deployments`, { body: deployment(`scoped-${ns}`) });
      expect(res.status, res.text).to.equal(201);
    }
    await user.until(scaled(`scoped-${mine}`), 2000);
    await admin.until((f) => scaled(`scoped-${mine}`)(f) && scaled(`scoped-${theirs}`)(f), 2000);
    const namespaces = new Set(user.json<EventFrame>().map((e) => e.namespace));
    expect([...namespaces]).to.deep.equal([mine]);
  });

  it('lists the same events over REST, scoped like every namespaced read', async () => {
    const socket = await open(`${WS}/clusters/st-events/event?token=${env.admin}`);
    await socket.until(scaled('web'), 2000);
    const fromSocket = socket.json<EventFrame>().filter((e) => e.namespace === mine && e.name === 'web' && e.kind === 'Deployment');
    const res = await env.api('GET', `${env.nsPath(mine)}/events`);
    expect(res.status, res.text).to.equal(200);
    const listed = (res.body.data as Array<Omit<EventFrame, 'type'> & { type: string; eventType: string }>).filter((e) => e.name === 'web' && e.kind === 'Deployment');
    expect(listed.every((e) => e.type === 'event')).to.equal(true);
    const last = fromSocket[fromSocket.length - 1];
    expect(listed.map(({ time, eventType, reason, message, source }) => ({ time, type: eventType, reason, message, source }))).to.deep.include({
      time: last.time,
      type: last.type,
      reason: last.reason,
      message: last.message,
      source: last.source,
    });
    expect((await env.zcloud.request('GET', `${env.nsPath(mine)}/events`, { token: userToken })).status).to.equal(200);
    expect((await env.zcloud.request('GET', `${env.nsPath(theirs)}/events`, { token: userToken })).status).to.equal(403);
  });

  it('serves SockJS clients: /info, then the websocket transport, authenticated the same way', async () => {
    const endpoint = `${env.zcloud.url}${WS}/clusters/st-events/event`;
    const info = await fetch(`${endpoint}/info?token=${env.admin}`);
    expect(info.status).to.equal(200);
    expect(await info.json()).to.include({ websocket: true });
    expect((await fetch(`${endpoint}/info`)).status).to.equal(401);
    expect((await fetch(`${endpoint}/info?token=${userToken}`)).status).to.equal(200);

    // A session's id is the client's choice: its later requests must come from the same user.
    const opened = await fetch(`${endpoint}/000/sessionone/xhr?token=${env.admin}`, { method: 'POST' });
    expect(opened.status).to.equal(200);
    expect(await opened.text()).to.equal('o\n');
    const hijack = await fetch(`${endpoint}/000/sessionone/xhr?token=${userToken}`, { method: 'POST' });
    expect(hijack.status).to.equal(403);
    const polled = await fetch(`${endpoint}/000/sessionone/xhr?token=${env.admin}`, { method: 'POST' });
    expect(polled.status).to.equal(200);
    expect(await polled.text()).to.match(/^a\[/);

    const gauge = async (): Promise<number> =>
      Number(/zcloud_websocket_connections\{endpoint="\/clusters\/\{cluster\}\/event"\} (\d+)/.exec((await env.api('GET', '/metrics')).text)?.[1]);
    const before = await gauge();
    const client = new SockJS(`${endpoint}?token=${env.admin}`, undefined, { transports: ['websocket'] });
    const frames: string[] = [];
    try {
      await new Promise<void>((resolve, reject) => {
        client.onmessage = (message) => {
          frames.push(String(message.data));
          if (scaled('web')(frames)) resolve();
        };
        client.onclose = (event) => reject(new Error(`closed: ${event.code} ${event.reason}`));
        setTimeout(() => reject(new Error(`no event of web within 5 s; ${frames.length} frames`)), 5000);
      });
      expect((client as unknown as { transport: string }).transport).to.equal('websocket');
      expect(await gauge()).to.equal(before + 1);
    } finally {
      client.onclose = null;
      client.close();
    }
  });
});
