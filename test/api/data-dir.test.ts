import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { API, sha1, tempDir } from '../helpers/zcloud.js';
import { canUnsharePid, killStartedProcesses, runZcloudToExit, startZcloudProcess, type ZcloudProcess } from '../helpers/zcloud-process.js';

async function call(zcloud: ZcloudProcess, method: string, urlPath: string, token?: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${zcloud.url}${urlPath}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function adminToken(zcloud: ZcloudProcess): Promise<string> {
  const res = await call(zcloud, 'POST', `${API}/users/admin?action=login`, undefined, { password: ADMIN_DEFAULT_SHA1 });
  expect(res.status).to.equal(200);
  return res.body.token as string;
}

function createUser(zcloud: ZcloudProcess, token: string, name: string): Promise<{ status: number; body: any }> {
  return call(zcloud, 'POST', `${API}/users`, token, { name, password: sha1(`${name}-pw`) });
}

/** Resolves once `condition` holds; rejects after `withinMs`. */
async function eventually(condition: () => boolean, withinMs: number): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function lockHolder(dataDir: string): { pid: number } {
  return JSON.parse(readFileSync(path.join(dataDir, 'zcloud.lock'), 'utf8')) as { pid: number };
}

describe('data dir: lock across PID namespaces and kill -9 (issue 22)', function () {
  before(function () {
    if (!canUnsharePid()) this.skip();
  });
  afterEach(() => killStartedProcesses());

  it('restarts in a fresh PID namespace after kill -9, with the same pid in the lock file', async () => {
    const dataDir = tempDir();
    const first = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace: true });
    const token = await adminToken(first);
    expect((await createUser(first, token, 'kim')).status).to.equal(201);
    // zcloud is pid 1 in its namespace, as under a container's CMD.
    expect(lockHolder(dataDir).pid).to.equal(1);
    await first.kill9();

    const second = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace: true });
    expect(lockHolder(dataDir).pid).to.equal(1);
    const users = await call(second, 'GET', `${API}/users`, await adminToken(second));
    expect(users.body.data.map((u: { name: string }) => u.name)).to.include('kim');
    await second.stop();
  });

  it('refuses a second live zcloud from another PID namespace, or from this one, naming the holder', async () => {
    const dataDir = tempDir();
    const holder = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace: true });
    for (const freshPidNamespace of [true, false]) {
      const second = await runZcloudToExit({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace });
      expect(second.code, second.stderr).to.equal(1);
      expect(second.stderr.trim().split('\n')).to.have.length(1);
      expect(second.stderr).to.match(/^zcloud: data dir .* is in use by process 1 on host .* since /);
    }
    // The holder kept serving and kept its data file to itself.
    expect((await call(holder, 'GET', '/readyz')).status).to.equal(200);
    await holder.stop();
  });

  it('refuses a zcloud in a fresh PID namespace while one outside it holds the dir', async () => {
    const dataDir = tempDir();
    const holder = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const second = await runZcloudToExit({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace: true });
    expect(second.code, second.stderr).to.equal(1);
    expect(second.stderr).to.match(new RegExp(`is in use by process ${holder.pid} on host`));
    await holder.stop();
  });
});

describe('data dir: acknowledged writes survive kill -9 (issue 22)', () => {
  afterEach(() => killStartedProcesses());

  it('keeps the audit entry of a request killed right after its answer', async () => {
    const dataDir = tempDir();
    const first = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const token = await adminToken(first);
    expect((await createUser(first, token, 'lee')).status).to.equal(201);
    await first.kill9(); // the SIGKILL goes out in the same tick as the answer arrived

    const second = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const audit = await call(second, 'GET', `${API}/auditlogs`, await adminToken(second));
    const creation = audit.body.data.filter((e: { path: string; body?: { name?: string } }) => e.path === `${API}/users` && e.body?.name === 'lee');
    expect(creation).to.have.length(1);
    expect(creation[0]).to.include({ verb: 'POST', status: 201, user: 'admin' });
    await second.stop();
  });

  // `npm run reliability` (R2 of issue 16) raises both: 20 rounds of 64 concurrent writers.
  const rounds = Number(process.env.ZCLOUD_RELIABILITY_ROUNDS ?? 3);
  const writerCount = Number(process.env.ZCLOUD_RELIABILITY_WRITERS ?? 16);
  it('keeps every acknowledged user, quota request and audit entry across rounds of kill -9 during concurrent writes', async function () {
    this.timeout(60_000 + rounds * 30_000);
    const dataDir = tempDir();
    // Every acknowledged write must be found in the trail, so the trail must not drop any.
    const env = { ZCLOUD_DATA_DIR: dataDir, ZCLOUD_AUDIT_MAX_ENTRIES: '1000000' };
    const acknowledged = { users: [] as string[], userquotas: [] as string[] };
    const total = () => acknowledged.users.length + acknowledged.userquotas.length;
    for (let round = 0; round < rounds; round++) {
      const zcloud = await startZcloudProcess({ env, freshPidNamespace: round % 2 === 1 && canUnsharePid() });
      const token = await adminToken(zcloud);
      let killed = false;
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; !killed; i++) {
          // Users and quota requests in turn: two collections of one data file.
          const [kind, name] = i % 2 === 0 ? (['users', `u${round}-${w}-${i}`] as const) : (['userquotas', `q${round}-${w}-${i}`] as const);
          const body = kind === 'users' ? { name, password: sha1(`${name}-pw`) } : { namespace: name, cpu: '1', memory: '1Gi', storage: '1Gi', purpose: 'R2' };
          // A request cut off by the kill was never acknowledged: fetch rejects with a TypeError.
          const res = await call(zcloud, 'POST', `${API}/${kind}`, token, body).catch((err: unknown) => {
            if (err instanceof TypeError) return undefined;
            throw err;
          });
          if (res?.status === 201) acknowledged[kind].push(name);
          else if (res) throw new Error(`create ${kind} ${name} answered ${res.status}`);
        }
      };
      const before = total();
      const writers = Array.from({ length: writerCount }, (_, w) => writer(w));
      // Kill while writes are in full flow: after this round's first answers, at a random moment.
      await eventually(() => total() - before >= 8, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.floor(Math.random() * 400)));
      await zcloud.kill9();
      killed = true;
      await Promise.all(writers);
    }

    const last = await startZcloudProcess({ env });
    const token = await adminToken(last);
    const trail = (await call(last, 'GET', `${API}/auditlogs`, token)).body.data as Array<{ path: string; status: number; body: Record<string, string> }>;
    for (const kind of ['users', 'userquotas'] as const) {
      const stored = new Set((await call(last, 'GET', `${API}/${kind}`, token)).body.data.map((o: { id: string }) => o.id));
      expect(acknowledged[kind].filter((name) => !stored.has(name)), `${kind} acknowledged but missing`).to.deep.equal([]);
      const audited = new Set(trail.filter((e) => e.path === `${API}/${kind}` && e.status === 201).map((e) => e.body.name ?? e.body.namespace));
      expect(acknowledged[kind].filter((name) => !audited.has(name)), `${kind} acknowledged but not audited`).to.deep.equal([]);
    }
    console.log(
      `      R2: ${rounds} kill -9 rounds of ${writerCount} concurrent writers: ${acknowledged.users.length} users and ${acknowledged.userquotas.length} quota requests acknowledged, all present and audited after restart`,
    );
    await last.stop();
  });
});
