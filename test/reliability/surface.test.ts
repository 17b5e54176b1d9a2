import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CoreV1Api } from '@kubernetes/client-node';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { ResourceRegistry, type RegisteredResource } from '../../api/framework/registry.js';
import { OSP_ROUTES } from '../../api/osp.js';
import { allResources } from '../../api/resources/index.js';
import { importedCluster, type ImportedCluster } from '../helpers/imported.js';
import { API, sha1 } from '../helpers/zcloud.js';
import { upgradeStatus, WS } from '../helpers/streams.js';
import { expectationOf, OSP_TABLE, PUBLIC, STREAM_TABLE, type Caller, type Verb } from './access-table.js';

/** How many generated hostile requests R3 sends: `npm run reliability` raises it to 10,000. */
const HOSTILE_REQUESTS = Number(process.env.ZCLOUD_RELIABILITY_REQUESTS ?? 2_000);

interface Route {
  kind: string;
  verb: Verb;
  method: string;
  url: string;
}

/** Every route of zcloud.cn/v1 from the registry: what the API serves, not what a test remembers. */
function zcloudRoutes(registry: ResourceRegistry): Route[] {
  const routes: Route[] = [];
  const idOf = (param: string) => (param === 'cluster' ? 'rel' : param === 'namespace' ? 'granted' : 'nonexistent');
  const walk = (entries: Iterable<RegisteredResource>, prefix: string, seen: readonly string[]) => {
    for (const entry of entries) {
      if (seen.includes(entry.def.kind)) continue;
      const { def } = entry;
      const collection = `${prefix}/${entry.collectionName}`;
      // Reads address a real object where one exists (a user's own cluster, namespace, or another user);
      // writes address one that does not, so the walk changes nothing whoever is allowed.
      const readId = { cluster: 'rel', namespace: 'granted', user: 'admin' }[def.kind] ?? 'nonexistent';
      const writeId = def.kind === 'user' ? 'someone-else' : 'nonexistent';
      if (def.list) routes.push({ kind: def.kind, verb: 'list', method: 'GET', url: collection });
      if (def.create) routes.push({ kind: def.kind, verb: 'create', method: 'POST', url: collection });
      if (def.get) routes.push({ kind: def.kind, verb: 'get', method: 'GET', url: `${collection}/${readId}` });
      if (def.update) routes.push({ kind: def.kind, verb: 'update', method: 'PUT', url: `${collection}/${writeId}` });
      if (def.remove) routes.push({ kind: def.kind, verb: 'delete', method: 'DELETE', url: `${collection}/${writeId}` });
      for (const action of Object.keys(def.actions ?? {})) {
        const id = action === 'login' ? 'admin' : writeId;
        routes.push({ kind: def.kind, verb: `action:${action}`, method: 'POST', url: `${collection}/${id}?action=${action}` });
      }
      walk(entry.children.values(), `${collection}/${idOf(def.kind)}`, [...seen, def.kind]);
    }
  };
  walk(registry.roots.values(), API, []);
  return routes;
}

function ospRoutes(): Array<{ key: string; method: string; url: string }> {
  return OSP_ROUTES.map((r) => ({
    key: `${r.method} ${r.path}`,
    method: r.method.toUpperCase(),
    url: `/osp/api${r.path.replace(':cluster', 'rel').replace(':namespace', 'granted').replace(':name', 'admin')}`,
  }));
}

function forceGc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** A small seeded PRNG: the same hostile requests on every run, so a failure can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Issue 16's suite over the whole surface, on one imported cluster: R4 the authorization matrix
 * of both APIs, R3 generated hostile requests against every route, R6 a scan for every secret
 * the suite used. Each figure is printed; a failure names the route and input.
 */
describe('reliability: the whole API surface (R3, R4, R6)', function () {
  this.timeout(600_000);
  let env: ImportedCluster;
  const tokens: Record<Caller, string> = { admin: '', member: '', outsider: '' };
  const ospTokens: Record<Caller, string> = { admin: '', member: '', outsider: '' };
  /** Every answer the suite saw but the logins' (which carry tokens by design), for the R6 scan. */
  const answers: string[] = [];
  const passwords = { member: 'member-secret-pw', outsider: 'outsider-secret-pw' };

  const send = async (method: string, url: string, options: { token?: string; body?: string; headers?: Record<string, string> } = {}) => {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
    const res = await fetch(`${env.zcloud.url}${url}`, { method, headers, body: options.body });
    const text = await res.text();
    if (!/action=login|\/osp\/api\/login/.test(url)) answers.push(text);
    return { status: res.status, text };
  };

  before(async () => {
    env = await importedCluster('rel');
    await env.cluster.kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'granted' } } });
    tokens.admin = env.admin;
    for (const [caller, projects] of [
      ['member', [{ cluster: 'rel', namespace: 'granted' }]],
      ['outsider', []],
    ] as const) {
      const created = await env.api('POST', `${API}/users`, { body: { name: caller, password: sha1(passwords[caller]), projects } });
      expect(created.status, created.text).to.equal(201);
      tokens[caller] = await env.zcloud.login(caller, sha1(passwords[caller]));
    }
    for (const caller of ['admin', 'member', 'outsider'] as const) {
      const password = caller === 'admin' ? 'zcloud' : passwords[caller];
      const res = await env.zcloud.request('POST', '/osp/api/login', { body: { name: caller, password } });
      expect(res.status, res.text).to.equal(200);
      ospTokens[caller] = res.body.data.token;
    }
  });
  after(async () => {
    await env?.close();
  });

  it('R4: walks the authorization matrix of every zcloud.cn route for anonymous, admin, a member and an outsider', async () => {
    const routes = zcloudRoutes(new ResourceRegistry(allResources));
    const failures: string[] = [];
    let checked = 0;
    for (const route of routes) {
      const body = route.method === 'POST' || route.method === 'PUT' ? '{}' : undefined;
      const anonymous = await send(route.method, route.url, { body });
      checked++;
      const isPublic = PUBLIC.has(`${route.kind} ${route.verb}`);
      if (isPublic ? [401, 403].includes(anonymous.status) || anonymous.status >= 500 : anonymous.status !== 401) {
        failures.push(`anonymous ${route.method} ${route.url} → ${anonymous.status}`);
      }
      if (!isPublic && /"data"\s*:/.test(anonymous.text)) failures.push(`anonymous ${route.method} ${route.url} leaked data`);
      for (const caller of ['admin', 'member', 'outsider'] as const) {
        const expected = expectationOf(route.kind, route.verb, caller);
        if (!expected) {
          failures.push(`no row in the access table for ${route.kind} ${route.verb}`);
          continue;
        }
        const res = await send(route.method, route.url, { token: tokens[caller], body });
        checked++;
        const ok = expected === 'denied' ? res.status === 403 && !/"data"\s*:/.test(res.text) : ![401, 403].includes(res.status) && res.status < 500;
        if (!ok) failures.push(`${caller} ${route.method} ${route.url}: expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
    console.log(`      R4 zcloud.cn: ${routes.length} routes × 4 callers = ${checked} requests, ${failures.length} mismatches`);
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('R4: walks the authorization matrix of every OSP route', async () => {
    const failures: string[] = [];
    const routes = ospRoutes();
    for (const route of routes) {
      const row = OSP_TABLE[route.key];
      if (!row) {
        failures.push(`no row in the OSP table for ${route.key}`);
        continue;
      }
      const body = route.method === 'GET' ? undefined : '{}';
      const anonymous = await send(route.method, route.url, { body });
      const isPublic = PUBLIC.has(`osp ${route.key}`);
      if (isPublic ? [401, 403].includes(anonymous.status) || anonymous.status >= 500 : anonymous.status !== 401) {
        failures.push(`anonymous ${route.method} ${route.url} → ${anonymous.status}`);
      }
      for (const caller of ['admin', 'member', 'outsider'] as const) {
        const expected = caller === 'admin' ? 'allowed' : row[caller === 'member' ? 0 : 1];
        const res = await send(route.method, route.url, { token: ospTokens[caller], body });
        const ok = expected === 'denied' ? res.status === 403 && !/"data"\s*:\s*[[{]/.test(res.text) : ![401, 403].includes(res.status) && res.status < 500;
        if (!ok) failures.push(`${caller} ${route.method} ${route.url}: expected ${expected}, got ${res.status} ${res.text.slice(0, 160)}`);
      }
    }
    console.log(`      R4 OSP: ${routes.length} routes × 4 callers, ${failures.length} mismatches`);
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it('R4: walks the authorization matrix of the websocket endpoints (refused before the upgrade)', async () => {
    const failures: string[] = [];
    const base = `${env.zcloud.url.replace(/^http/, 'ws')}${WS}`;
    for (const [endpoint, row] of Object.entries(STREAM_TABLE)) {
      const url = `${base}${endpoint}`;
      const withToken = (token: string) => `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
      const anonymous = await upgradeStatus(url);
      if (anonymous !== 401) failures.push(`anonymous ${endpoint} → ${anonymous}`);
      for (const caller of ['admin', 'member', 'outsider'] as const) {
        const expected = caller === 'admin' ? 'allowed' : row[caller === 'member' ? 0 : 1];
        const status = await upgradeStatus(withToken(tokens[caller]));
        const ok = expected === 'denied' ? status === 403 : status === 101 || (![401, 403].includes(status) && status < 500);
        if (!ok) failures.push(`${caller} ${endpoint}: expected ${expected}, got ${status}`);
      }
      // Another API's token opens nothing here either.
      const osp = await upgradeStatus(withToken(ospTokens.admin));
      if (osp !== 401) failures.push(`OSP token ${endpoint} → ${osp}`);
    }
    console.log(`      R4 websockets: ${Object.keys(STREAM_TABLE).length} endpoints × 5 callers, ${failures.length} mismatches`);
    expect(failures, failures.join('\n')).to.deep.equal([]);
  });

  it(`R3: ${HOSTILE_REQUESTS} generated hostile requests: no 5xx, zcloud keeps serving, memory back to its baseline`, async () => {
    const random = prng(16);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const routes = zcloudRoutes(new ResourceRegistry(allResources));
    const urls = [...routes.map((r) => r.url), ...ospRoutes().map((r) => r.url)];
    // Get routes address real objects (cluster rel, namespace granted): an admin token may rightly
    // delete those, so changes go only to URLs of objects that do not exist.
    const changeUrls = [...routes.filter((r) => r.verb !== 'get').map((r) => r.url), ...ospRoutes().map((r) => r.url)];
    const deep = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    const bodies: Array<() => string | undefined> = [
      () => undefined,
      () => '{',
      () => '{"name": }',
      () => 'null',
      () => '[]',
      () => '"a string"',
      () => JSON.stringify({ name: 42, password: false, projects: 'x', nodes: {}, configs: 7 }),
      () => JSON.stringify({ name: 'x'.repeat(200_000) }),
      () => JSON.stringify({ name: 'ok', items: Array.from({ length: 20_000 }, (_, i) => i) }),
      () => deep(5_000),
      () => JSON.stringify({ name: '../../etc/passwd', namespace: '..', cluster: '%00' }),
      () => JSON.stringify({ __proto__: { isAdmin: true }, constructor: { prototype: { isAdmin: true } } }),
      () => '\u0000\u0001\uffff',
      () => 'x'.repeat(2 * 1024 * 1024),
    ];
    const mangle: Array<(url: string) => string> = [
      (u) => u,
      (u) => `${u}/../../../../etc/passwd`,
      (u) => u.replace(/\/[^/]+$/, '/%E0%A4%A'),
      (u) => u.replace(/\/[^/]+$/, '/%2e%2e%2f%2e%2e'),
      (u) => `${u}${u.includes('?') ? '&' : '?'}action=nosuchaction`,
      (u) => `${u}?action=${'a'.repeat(5_000)}`,
      (u) => u.replace('/rel/', '/no-such-cluster/'),
      (u) => `${u}/${'seg/'.repeat(200)}`,
      (u) => u.replace(/\//g, '//'),
    ];
    const secret = new TextEncoder().encode('w'.repeat(48));
    const now = Math.floor(Date.now() / 1000);
    const forged = await new SignJWT({ gen: 1 }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin').setAudience('zcloud').setIssuedAt(now).setExpirationTime(now + 600).sign(secret);
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'admin', gen: 1, aud: 'zcloud', iat: now, exp: now + 600 })).toString('base64url');
    const parts = tokens.admin.split('.');
    const expiredLike = `${parts[0]}.${Buffer.from(JSON.stringify({ sub: 'admin', gen: 1, aud: 'zcloud', iat: 1, exp: 2 })).toString('base64url')}.${parts[2]}`;
    const authorizations: Array<string | undefined> = [
      undefined,
      `Bearer ${tokens.admin}`,
      `Bearer ${tokens.member}`,
      `Bearer ${ospTokens.admin}`, // another audience
      `Bearer ${forged}`, // wrong key
      `Bearer ${header}.${payload}.`, // alg none
      `Bearer ${expiredLike}`, // claims changed: signature no longer matches
      'Bearer',
      `Basic ${Buffer.from('admin:zcloud').toString('base64')}`,
      `Bearer ${'x'.repeat(10_000)}`,
    ];
    const methods = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

    forceGc();
    const baseline = process.memoryUsage().heapUsed;
    const statuses = new Map<number, number>();
    const serverErrors: string[] = [];
    let sent = 0;
    const worker = async () => {
      while (sent < HOSTILE_REQUESTS) {
        sent++;
        const method = pick(methods);
        const url = pick(mangle)(pick(method === 'GET' || method === 'OPTIONS' ? urls : changeUrls));
        const body = method === 'GET' || method === 'OPTIONS' ? undefined : pick(bodies)();
        const authorization = pick(authorizations);
        const headers: Record<string, string> = authorization ? { authorization } : {};
        const res = await fetch(`${env.zcloud.url}${url}`, { method, headers: { ...headers, 'content-type': 'application/json' }, body });
        await res.arrayBuffer();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status >= 500) serverErrors.push(`${method} ${url.slice(0, 120)} (${authorization?.slice(0, 20) ?? 'no token'}, body ${body?.slice(0, 40) ?? 'none'}) → ${res.status}`);
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: 16 }, worker));
    const seconds = (Date.now() - started) / 1000;
    forceGc();
    const grownMb = (process.memoryUsage().heapUsed - baseline) / 1024 / 1024;
    const figures = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([status, count]) => `${status}×${count}`).join(' ');
    console.log(`      R3: ${sent} requests in ${seconds.toFixed(1)} s (${(sent / seconds).toFixed(0)}/s); answers ${figures}; heap ${grownMb >= 0 ? '+' : ''}${grownMb.toFixed(1)} MB after GC`);
    expect(serverErrors.slice(0, 20), serverErrors.slice(0, 20).join('\n')).to.deep.equal([]);
    // Still serving, and the cluster still Running.
    const cluster = await env.api('GET', env.clusterPath);
    expect(cluster.body.status).to.equal('Running');
    // The heap holds the informer cache and the log buffer of this test; hostile requests must not add to it for good.
    expect(grownMb, 'heap growth after GC (MB)').to.be.below(64);
    expect(env.zcloud.logs()).to.not.match(/URIError|RangeError|Maximum call stack/);
  });

  it('R6: no password, token or kubeconfig key of the suite appears in logs, audit trail, answers or the data file', async () => {
    const keyLine = env.cluster.kubeconfig.split('\n').find((l) => l.includes('client-key-data'))!.split(':')[1]!.trim();
    const secrets: Record<string, string> = {
      'member password': passwords.member,
      'member password sha1': sha1(passwords.member),
      'outsider password': passwords.outsider,
      'admin password sha1': sha1('zcloud'),
      'admin token': tokens.admin,
      'member token': tokens.member,
      'admin OSP token': ospTokens.admin,
      'member OSP token': ospTokens.member,
      'kubeconfig client key': keyLine,
    };
    const places: Record<string, string> = {
      logs: env.zcloud.logs(),
      'audit trail file': readFileSync(path.join(env.zcloud.dataDir, 'auditlogs.log'), 'utf8'),
      'data file': readFileSync(path.join(env.zcloud.dataDir, 'zcloud.json'), 'utf8'),
      answers: answers.join('\n'),
    };
    const hits: string[] = [];
    for (const [place, text] of Object.entries(places)) {
      for (const [what, value] of Object.entries(secrets)) if (text.includes(value)) hits.push(`${what} in ${place}`);
    }
    console.log(`      R6: ${Object.keys(secrets).length} secrets × ${Object.keys(places).length} places (${(Object.values(places).join('').length / 1024 / 1024).toFixed(1)} MB scanned): ${hits.length} hits`);
    expect(hits).to.deep.equal([]);
  });
});
