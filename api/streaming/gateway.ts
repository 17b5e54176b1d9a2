import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { ForbiddenError, NotFoundError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { untilAborted, type Runnable } from '../../src/manager.js';
import type { ZcloudMetrics } from '../../src/metrics.js';
import type { Principal } from '../../src/users.js';
import { errorResponse } from '../framework/answers.js';
import { authenticateCredentials, requireSameOrigin, type TokenAuthenticator } from '../framework/authn.js';
import type { StreamHandlers } from '../http-server.js';
import { SockjsTransport, sockjsStreamSocket, sockjsTarget } from './sockjs-transport.js';
import { wsStreamSocket, type StreamSocket, type StreamSocketOptions } from './stream-socket.js';

/** Where every stream lives. */
export const WS_PREFIX = '/apis/ws.zcloud.cn/v1';

/** How long clients get to answer the close frame when zcloud stops. */
const STOP_GRACE_MS = 500;
/** How long the endpoints' clean-up after their sessions may delay zcloud's stop. */
const DRAIN_MS = 10_000;
/** How long an authorized SockJS session may take to open its connection. */
const SOCKJS_OPEN_MS = 30_000;

/** An upgrade request, authenticated and matched to an endpoint. */
export interface StreamRequest {
  user: Principal;
  /** The `{param}`s of the endpoint's path, decoded. */
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  /** The origin zcloud is reached at, for the links of REST-shaped objects. */
  origin: string;
}

/** What runs on the socket once upgraded; the socket closes when the client or the session ends it. */
export type StreamSession = (socket: StreamSocket) => void;

export interface StreamEndpoint {
  /** Path below WS_PREFIX with `{param}`s, e.g. `/clusters/{cluster}/event`; also the metrics label. */
  path: string;
  /**
   * Checks the request and prepares the session. Throws before any upgrade: ForbiddenError,
   * NotFoundError, InputError... answer the upgrade request with that status.
   */
  open(request: StreamRequest): Promise<StreamSession>;
  /**
   * Resolves once what the endpoint's closed sessions still do has finished (a cluster shell
   * deleting its pod); awaited, with a bound, when zcloud stops after closing every stream.
   */
  drain?(): Promise<void>;
}

export interface StreamGatewayOptions {
  endpoints: readonly StreamEndpoint[];
  users: TokenAuthenticator;
  logger: Logger;
  metrics: ZcloudMetrics;
  /** The origin browsers reach zcloud at (ZCLOUD_PUBLIC_URL); undefined: the request's own Host. */
  publicOrigin: string | undefined;
  /** X-Forwarded-Proto/-Host are believed (trusted proxies configured) when working out the request's own origin. */
  trustForwarded: boolean;
  socket: StreamSocketOptions;
}

interface Route {
  endpoint: StreamEndpoint;
  pattern: RegExp;
  names: string[];
}

/** A request accepted for a route: what runs once the socket is open. */
interface Accepted {
  route: Route;
  session: StreamSession;
  user: Principal;
}

/** The endpoint path as a regular expression source, `{param}`s as `([^/]+)` groups (or non-capturing). */
function pathPattern(path: string, capture = true): string {
  const escaped = `${WS_PREFIX}${path}`.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
  return escaped.replace(/\{(\w+)\}/g, capture ? '([^/]+)' : '(?:[^/]+)');
}

function routeOf(endpoint: StreamEndpoint): Route {
  const names = [...endpoint.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
  return { endpoint, pattern: new RegExp(`^${pathPattern(endpoint.path)}$`), names };
}

function firstHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The websocket side of the API: every stream endpoint, authenticated as the REST API is (the
 * JWT in the Authorization header, the web session cookie, or a `token` query parameter, for
 * browsers, which cannot set headers on a websocket) and authorized by the endpoint, both
 * before the upgrade, so a refused client gets a plain 401/403/404 answer. A browser's
 * `Origin` must be zcloud's own. As a Runnable it closes every stream (1001) when stopped.
 */
export class StreamGateway implements Runnable, StreamHandlers {
  readonly name = 'streams';
  readonly #routes: Route[];
  readonly #server = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  readonly #sockjs: SockjsTransport;
  /** SockJS sessions authorized whose connection has not opened yet, by session id. */
  readonly #pendingSockjs = new Map<string, Accepted>();
  /**
   * The user of each SockJS session, while it lives: the id is the client's choice, so every
   * later request of the session (xhr polls and sends) must come from the same user.
   */
  readonly #sockjsOwners = new Map<string, string>();
  readonly #open = new Set<StreamSocket>();

  constructor(private readonly options: StreamGatewayOptions) {
    this.#routes = options.endpoints.map(routeOf);
    this.#sockjs = new SockjsTransport({
      prefixPattern: `(?:${options.endpoints.map((e) => pathPattern(e.path, false)).join('|')})`,
      heartbeatMs: options.socket.pingIntervalMs,
      logger: options.logger,
      onConnection: (connection, sessionId) => {
        const accepted = this.#pendingSockjs.get(sessionId);
        this.#pendingSockjs.delete(sessionId);
        if (!accepted) return void connection.close('4001', 'session not authorized');
        const socket = sockjsStreamSocket(connection);
        socket.onClose(() => this.#sockjsOwners.delete(sessionId));
        this.run(socket, accepted);
      },
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    await untilAborted(signal);
    for (const socket of this.#open) socket.close(1001, 'zcloud is stopping');
    // Upgraded connections keep the HTTP server from closing: a client that does not answer the close goes anyway.
    if (this.#server.clients.size > 0) await new Promise((resolve) => setTimeout(resolve, STOP_GRACE_MS));
    for (const client of this.#server.clients) client.terminate();
    this.#server.close();
    const drained = Promise.all(this.options.endpoints.map((endpoint) => endpoint.drain?.()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), DRAIN_MS)));
    if ((await Promise.race([drained, late])) === 'late') this.options.logger.warn('streams: clean-up after closed sessions still running at stop', { waitedMs: DRAIN_MS });
    clearTimeout(timer);
  }

  /** The `upgrade` listener of the HTTP server: a plain websocket, or SockJS's websocket transport. */
  readonly handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    const pathname = new URL(req.url ?? '/', 'http://zcloud.invalid').pathname;
    const sockjs = this.sockjsTargetOf(pathname);
    this.accept(req, sockjs?.endpointPath ?? pathname)
      .then((accepted) => {
        if (!sockjs) return this.#server.handleUpgrade(req, socket, head, (ws) => this.run(wsStreamSocket(ws, this.socketOptions(accepted)), accepted));
        this.holdSockjs(sockjs.sessionId, accepted);
        if (!this.#sockjs.handle(req, socket, head)) socket.destroy();
      })
      .catch((err: unknown) => this.refuse(socket, err, req));
  };

  /** Takes SockJS's HTTP requests (`/info`, the xhr and eventsource transports) of every endpoint. */
  readonly handleRequest = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (!req.url?.startsWith(`${WS_PREFIX}/`)) return false; // before parsing: every request passes here
    const pathname = new URL(req.url ?? '/', 'http://zcloud.invalid').pathname;
    const sockjs = this.sockjsTargetOf(pathname);
    if (!sockjs) return false;
    this.accept(req, sockjs.endpointPath)
      .then((accepted) => {
        this.holdSockjs(sockjs.sessionId, accepted);
        if (!this.#sockjs.handle(req, res)) res.writeHead(404).end();
      })
      .catch((err: unknown) => {
        const { status, text } = this.refusal(err, req);
        res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
      });
    return true;
  };

  private sockjsTargetOf(pathname: string): { endpointPath: string; sessionId: string | undefined } | undefined {
    if (!pathname.startsWith(`${WS_PREFIX}/`)) return undefined;
    const target = sockjsTarget(pathname);
    return target && this.#routes.some((r) => r.pattern.test(target.endpointPath)) ? target : undefined;
  }

  /**
   * Keeps what a new SockJS session was authorized for until its connection opens; a request
   * of an existing session must come from the session's user (403 otherwise).
   */
  private holdSockjs(sessionId: string | undefined, accepted: Accepted): void {
    if (!sessionId) return;
    const owner = this.#sockjsOwners.get(sessionId);
    if (owner !== undefined) {
      if (owner !== accepted.user.name) throw new ForbiddenError('this SockJS session belongs to another user');
      return;
    }
    this.#sockjsOwners.set(sessionId, accepted.user.name);
    this.#pendingSockjs.set(sessionId, accepted);
    setTimeout(() => {
      // Never opened: forget it. (An opened one is forgotten when it closes.)
      if (this.#pendingSockjs.get(sessionId) !== accepted) return;
      this.#pendingSockjs.delete(sessionId);
      this.#sockjsOwners.delete(sessionId);
    }, SOCKJS_OPEN_MS).unref();
  }

  /** Matches, authenticates and authorizes a request for the endpoint at `pathname`; throws what it is refused with. */
  async accept(req: IncomingMessage, pathname: string): Promise<Accepted> {
    const url = new URL(req.url ?? '/', 'http://zcloud.invalid');
    const match = this.match(pathname);
    const origin = this.selfOrigin(req);
    const user = await this.authenticate(req, url.searchParams, origin);
    const session = await match.route.endpoint.open({ user, params: match.params, query: url.searchParams, origin });
    return { route: match.route, session, user };
  }

  /** The endpoint and its params for `pathname`; 404 when no endpoint serves it. */
  match(pathname: string): { route: Route; params: Record<string, string> } {
    for (const route of this.#routes) {
      const found = route.pattern.exec(pathname);
      if (!found) continue;
      const params: Record<string, string> = {};
      try {
        route.names.forEach((name, i) => (params[name] = decodeURIComponent(found[i + 1])));
      } catch (err) {
        if (err instanceof URIError) throw new NotFoundError(`no stream at ${pathname} (malformed escape)`);
        throw err;
      }
      return { route, params };
    }
    throw new NotFoundError(`no stream at ${pathname}`);
  }

  private async authenticate(req: IncomingMessage, query: URLSearchParams, selfOrigin: string): Promise<Principal> {
    const headers = { ...req.headers };
    const token = query.get('token');
    if (token && headers.authorization === undefined) headers.authorization = `Bearer ${token}`;
    const credentials = { method: 'GET', headers, selfOrigin };
    const user = await authenticateCredentials(credentials, this.options.users);
    // A page of another site may open a socket with the browser's cookie (or a token it holds):
    // whatever the credential, a browser's socket must come from a page of zcloud.
    if (headers.origin !== undefined || headers.authorization === undefined) requireSameOrigin(credentials);
    return user;
  }

  private selfOrigin(req: IncomingMessage): string {
    if (this.options.publicOrigin) return this.options.publicOrigin;
    const forwarded = (name: string): string | undefined => (this.options.trustForwarded ? firstHeader(req, name)?.split(',')[0]?.trim() : undefined);
    const proto = forwarded('x-forwarded-proto') ?? ((req.socket as TLSSocket).encrypted ? 'https' : 'http');
    const host = forwarded('x-forwarded-host') ?? firstHeader(req, 'host') ?? 'localhost';
    return `${proto}://${host}`;
  }

  private socketOptions({ route, user }: Accepted): StreamSocketOptions {
    const onSlowReader = (): void => void this.options.logger.warn('stream dropped: the client reads too slowly', { endpoint: route.endpoint.path, user: user.name });
    return { ...this.options.socket, onSlowReader };
  }

  private run(socket: StreamSocket, { route, session, user }: Accepted): void {
    const { metrics, logger } = this.options;
    const gauge = metrics.websocketConnections.labels(route.endpoint.path);
    gauge.inc();
    this.#open.add(socket);
    logger.info('stream opened', { endpoint: route.endpoint.path, user: user.name });
    socket.onClose(() => {
      this.#open.delete(socket);
      gauge.dec();
      logger.info('stream closed', { endpoint: route.endpoint.path, user: user.name });
    });
    try {
      session(socket);
    } catch (err) {
      logger.error('stream session failed', { endpoint: route.endpoint.path, error: (err as Error).message });
      socket.close(1011, 'internal error');
    }
  }

  /** The status and body (the zcloud error envelope) a refused request is answered with. */
  private refusal(err: unknown, req: IncomingMessage): { status: number; text: string } {
    const { status, body } = errorResponse(err, 'zcloud');
    if (status >= 500) this.options.logger.error('stream request failed', { path: new URL(req.url ?? '/', 'http://x').pathname, error: (err as Error).message });
    return { status, text: JSON.stringify(body) };
  }

  /** Answers a refused upgrade as a plain HTTP error, before any upgrade. */
  private refuse(socket: Duplex, err: unknown, req: IncomingMessage): void {
    const { status, text } = this.refusal(err, req);
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
}
