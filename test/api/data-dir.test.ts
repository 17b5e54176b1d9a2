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

  it('keeps every acknowledged user and its audit entry across rounds of kill -9 during concurrent writes', async () => {
    const dataDir = tempDir();
    const acknowledged: string[] = [];
    const rounds = 3;
    for (let round = 0; round < rounds; round++) {
      const zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir }, freshPidNamespace: round % 2 === 1 && canUnsharePid() });
      const token = await adminToken(zcloud);
      let killed = false;
      const writer = async (w: number): Promise<void> => {
        for (let i = 0; !killed; i++) {
          const name = `u${round}-${w}-${i}`;
          // A request cut off by the kill was never acknowledged: fetch rejects with a TypeError.
          const res = await createUser(zcloud, token, name).catch((err: unknown) => {
            if (err instanceof TypeError) return undefined;
            throw err;
          });
          if (res?.status === 201) acknowledged.push(name);
          else if (res) throw new Error(`create ${name} answered ${res.status}`);
        }
      };
      const before = acknowledged.length;
      const writers = Array.from({ length: 16 }, (_, w) => writer(w));
      // Kill while writes are in full flow: after this round's first answers, at a varying moment.
      await eventually(() => acknowledged.length - before >= 8, 30_000);
      await new Promise((resolve) => setTimeout(resolve, 50 + 100 * round));
      await zcloud.kill9();
      killed = true;
      await Promise.all(writers);
    }

    const last = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir } });
    const token = await adminToken(last);
    const users = new Set((await call(last, 'GET', `${API}/users`, token)).body.data.map((u: { name: string }) => u.name));
    expect(acknowledged.filter((name) => !users.has(name))).to.deep.equal([]);
    const audited = new Set(
      (await call(last, 'GET', `${API}/auditlogs`, token)).body.data
        .filter((e: { path: string; status: number }) => e.path === `${API}/users` && e.status === 201)
        .map((e: { body: { name: string } }) => e.body.name),
    );
    expect(acknowledged.filter((name) => !audited.has(name))).to.deep.equal([]);
    await last.stop();
  });
});
