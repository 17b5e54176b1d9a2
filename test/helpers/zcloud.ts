import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { loadConfig, type ConfigKey } from '../../src/config.js';
import { ADMIN_DEFAULT_SHA1 } from '../../src/users.js';
import { startZcloud, type RunningZcloud } from '../../server/zcloud.js';

export const API = '/apis/zcloud.cn/v1';

export function sha1(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}

const tempDirs: string[] = [];

/** A new directory under the OS temp dir, removed by the root hook when the run ends. */
export function tempDir(prefix = 'zcloud-test-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Removes every directory tempDir made in this run (root hook afterAll). */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is, instead of JSON of `body`. */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface TestZcloud {
  url: string;
  dataDir: string;
  running: RunningZcloud;
  /** Everything logged so far, as text (JSON lines). */
  logs(): string;
  request<T = any>(method: string, urlPath: string, options?: RequestOptions): Promise<HttpResult<T>>;
  /** Logs in through the zcloud.cn login action and returns the token. */
  login(name: string, sha1Password: string): Promise<string>;
  adminToken(): Promise<string>;
  close(): Promise<void>;
}

export interface TestZcloudOptions {
  dataDir?: string;
  env?: Partial<Record<ConfigKey, string>>;
}

/** Starts zcloud in-process on a free loopback port with its own data dir. */
export async function startTestZcloud(options: TestZcloudOptions = {}): Promise<TestZcloud> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadConfig({
    PORT: '0',
    ZCLOUD_LISTEN_HOST: '127.0.0.1',
    ZCLOUD_DATA_DIR: dataDir,
    ZCLOUD_LOG_LEVEL: 'debug',
    // Every test speaks from 127.0.0.1 and many check wrong passwords; the throttle's own tests set it low.
    ZCLOUD_LOGIN_MAX_FAILURES: '1000',
    ...options.env,
  });
  const chunks: string[] = [];
  const logStream = new PassThrough();
  logStream.on('data', (chunk: Buffer) => chunks.push(chunk.toString('utf8')));
  const running = await startZcloud(config, { logStream });
  let closed = false;
  const zcloud: TestZcloud = {
    url: running.url,
    dataDir,
    running,
    logs: () => chunks.join(''),
    async request(method, urlPath, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.token) headers.authorization = `Bearer ${opts.token}`;
      let body: string | undefined = opts.rawBody;
      if (body === undefined && opts.body !== undefined) {
        body = JSON.stringify(opts.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${running.url}${urlPath}`, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = undefined;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined; // not JSON (e.g. YAML): callers read `text`
      }
      return { status: res.status, body: parsed as never, text, headers: res.headers };
    },
    async login(name, sha1Password) {
      const res = await zcloud.request('POST', `${API}/users/${name}?action=login`, { body: { password: sha1Password } });
      if (res.status !== 200) throw new Error(`login ${name} failed: ${res.status} ${res.text}`);
      return res.body.token as string;
    },
    adminToken: () => zcloud.login('admin', ADMIN_DEFAULT_SHA1),
    async close() {
      if (closed) return;
      closed = true;
      await running.close();
    },
  };
  return zcloud;
}
