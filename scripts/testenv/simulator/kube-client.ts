import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { createInterface } from 'node:readline';
import yaml from 'js-yaml';
import type { Status, WatchEvent } from './kube-types.js';

/** A non-2xx answer from the apiserver; `code` is the HTTP status (404, 409, 410...). */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export function isApiError(err: unknown, code: number): boolean {
  return err instanceof ApiError && err.code === code;
}

/** What the simulator needs from a kubeconfig: the server and the embedded TLS material. */
interface Credentials {
  server: string;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

function credentialsFrom(kubeconfigPath: string): Credentials {
  const config = yaml.load(readFileSync(kubeconfigPath, 'utf8')) as {
    clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    users: { user: { 'client-certificate-data': string; 'client-key-data': string } }[];
  };
  const cluster = config.clusters[0]?.cluster;
  const user = config.users[0]?.user;
  if (!cluster || !user) throw new Error(`${kubeconfigPath} has no cluster or user`);
  const decode = (data: string): Buffer => Buffer.from(data, 'base64');
  return {
    server: cluster.server,
    ca: decode(cluster['certificate-authority-data']),
    cert: decode(user['client-certificate-data']),
    key: decode(user['client-key-data']),
  };
}

/** A plain request gives up after this; the apiserver answers ours in milliseconds when it is up. */
const requestTimeoutMs = 10_000;

/**
 * A minimal JSON client for the apiserver, as a kubelet is: plain HTTPS with a client
 * certificate, objects as the server sends them, no schema in between. Reads the kubeconfig
 * that `up` writes (one cluster, one user, embedded certificates).
 */
export class KubeClient {
  readonly #credentials: Credentials;
  readonly #agent: Agent;

  constructor(kubeconfigPath: string) {
    this.#credentials = credentialsFrom(kubeconfigPath);
    const { ca, cert, key } = this.#credentials;
    this.#agent = new Agent({ ca, cert, key, keepAlive: true });
  }

  get<T>(path: string): Promise<T> {
    return this.#send<T>('GET', path);
  }
  post<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('POST', path, body);
  }
  put<T>(path: string, body: unknown): Promise<T> {
    return this.#send<T>('PUT', path, body);
  }
  delete<T>(path: string, body?: unknown): Promise<T> {
    return this.#send<T>('DELETE', path, body);
  }

  #send<T>(method: string, path: string, body?: unknown): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        new URL(path, this.#credentials.server),
        {
          method,
          agent: this.#agent,
          timeout: requestTimeoutMs,
          // An explicit length: for DELETE, Node sends neither a length nor chunked encoding by
          // default, and the server would read the body as the start of the next request.
          headers: {
            accept: 'application/json',
            ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve(JSON.parse(text) as T);
              } catch (err) {
                reject(new Error(`${method} ${path}: invalid JSON answer: ${(err as Error).message}`, { cause: err }));
              }
              return;
            }
            reject(new ApiError(status, `${method} ${path}: ${status} ${errorMessage(text)}`));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${requestTimeoutMs} ms`)));
      req.on('error', (err) => reject(new Error(`${method} ${path}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }

  /**
   * Streams a watch: calls `onEvent` for each event line until the server ends the watch
   * (resolves) or the connection fails (rejects). `signal` aborts it (resolves). `onEvent` must
   * not throw. A non-200
   * answer rejects with an ApiError. The caller sets `timeoutSeconds` in `path`, so a silent
   * connection is ended by the server; we add a margin before treating silence as a failure.
   */
  watch<T>(path: string, idleLimitMs: number, onEvent: (event: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(new URL(path, this.#credentials.server), {
        method: 'GET',
        agent: this.#agent,
        timeout: idleLimitMs,
        signal,
        headers: { accept: 'application/json' },
      });
      req.on('timeout', () => req.destroy(new Error(`watch ${path}: silent for ${idleLimitMs} ms`)));
      req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
      req.on('response', (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            reject(new ApiError(res.statusCode ?? 0, `watch ${path}: ${res.statusCode} ${errorMessage(Buffer.concat(chunks).toString('utf8'))}`)),
          );
          return;
        }
        const lines = createInterface({ input: res });
        // readline re-emits the response's errors (a reset connection) on itself.
        lines.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
        lines.on('line', (line) => {
          if (!line.trim()) return;
          let event: WatchEvent<T>;
          try {
            event = JSON.parse(line) as WatchEvent<T>;
          } catch (err) {
            req.destroy(new Error(`watch ${path}: undecodable event: ${(err as Error).message}`, { cause: err }));
            return;
          }
          onEvent(event);
        });
        res.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
        lines.on('close', () => resolve());
      });
      req.end();
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function errorMessage(text: string): string {
  try {
    const status = JSON.parse(text) as Status;
    return status.message ?? text;
  } catch {
    // Not a Status object (e.g. a proxy's HTML page): show it as it came.
    return text.slice(0, 200);
  }
}
