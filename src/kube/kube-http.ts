import http from 'node:http';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';

/** A non-2xx answer from an apiserver. `reason` is the Status reason (NotFound, Expired, ...). */
export class KubeApiError extends Error {
  override readonly name = 'KubeApiError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** The apiserver did not answer at all (refused, reset, timed out). */
export class KubeConnectionError extends Error {
  override readonly name = 'KubeConnectionError';
}

export interface KubeRequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** Default application/json; patches pass their own. */
  contentType?: string;
  signal?: AbortSignal;
  /** Whole-request deadline; default 30 s. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Raw HTTP to one cluster's apiserver, with the credentials of a kubeconfig. client-node's
 * typed APIs suit one-off calls; informers need control over paging, watch parameters and the
 * stream itself, which this gives.
 */
export class KubeHttp {
  readonly server: URL;
  readonly #kc: KubeConfig;
  readonly #agent: http.Agent;

  constructor(kc: KubeConfig) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.#kc = kc;
    this.server = new URL(cluster.server);
    const isTls = this.server.protocol === 'https:';
    // keepAlive reuses connections for reads; watches each hold one socket while open.
    this.#agent = isTls ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  static fromYaml(kubeconfigYaml: string): KubeHttp {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml);
    return new KubeHttp(kc);
  }

  get kubeConfig(): KubeConfig {
    return this.#kc;
  }

  /** Closes idle keep-alive sockets (open watches end on their own signal). */
  close(): void {
    this.#agent.destroy();
  }

  /**
   * TLS options and auth headers for one request. Taken from the kubeconfig each time: with an
   * exec plugin or an OIDC/auth-provider user, client-node keeps the credential until it
   * expires and then fetches a new one, so a cluster of EKS, GKE or AKS stays reachable past
   * its first token's lifetime. For certificates and static tokens this only copies strings.
   */
  private async options(): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {};
    await this.#kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private url(path: string, query?: KubeRequestOptions['query']): URL {
    const url = new URL(path, this.server);
    if (this.server.pathname !== '/' && !path.startsWith(this.server.pathname)) {
      url.pathname = this.server.pathname.replace(/\/$/, '') + path;
    }
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url;
  }

  /** Sends a request and opens the response; the caller consumes or destroys it. */
  async open(method: string, path: string, options: KubeRequestOptions = {}): Promise<IncomingMessage> {
    const url = this.url(path, options.query);
    const base = await this.options();
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string | number> = {
      ...(base.headers as Record<string, string>),
      accept: 'application/json',
      ...(body !== undefined ? { 'content-type': options.contentType ?? 'application/json', 'content-length': Buffer.byteLength(body) } : {}),
    };
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = transport.request(
        url,
        { ...base, method, headers, agent: this.#agent, signal: options.signal },
        (res) => resolve(res),
      );
      if (options.timeoutMs !== undefined) {
        req.setTimeout(options.timeoutMs, () => req.destroy(new KubeConnectionError(`${method} ${url.pathname}: no answer within ${options.timeoutMs} ms`)));
      }
      req.on('error', (err) => {
        if (err instanceof KubeConnectionError || err.name === 'AbortError') reject(err);
        else reject(new KubeConnectionError(`${method} ${url.pathname}: ${err.message}`, { cause: err }));
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /** A JSON request; non-2xx becomes KubeApiError carrying the Status reason. */
  async request<T = unknown>(method: string, path: string, options: KubeRequestOptions = {}): Promise<T> {
    const res = await this.open(method, path, { timeoutMs: DEFAULT_TIMEOUT_MS, ...options });
    const text = await readAll(res);
    const status = res.statusCode ?? 0;
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    if (status < 200 || status >= 300) throw toKubeApiError(status, parsed, `${method} ${path}`);
    return parsed as T;
  }
}

export function toKubeApiError(status: number, body: unknown, what: string): KubeApiError {
  const statusBody = (body && typeof body === 'object' ? body : {}) as { reason?: string; message?: string; details?: unknown };
  return new KubeApiError(
    status,
    statusBody.reason ?? String(status),
    `${what}: ${statusBody.message ?? (typeof body === 'string' ? body.slice(0, 200) : `HTTP ${status}`)}`,
    statusBody.details,
  );
}

export function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
