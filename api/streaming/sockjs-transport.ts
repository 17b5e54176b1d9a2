import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import sockjs, { type Connection } from 'sockjs';
import type { Logger } from '../../src/logger.js';
import type { StreamSocket } from './stream-socket.js';

/**
 * SockJS's own URLs below an endpoint's: `/info` (what the client asks first), and each
 * transport of a session, `/<server>/<session>/<transport>` (websocket, xhr_streaming...).
 */
const SOCKJS_SUFFIX = /^(.*?)\/(?:info|([^/.]+)\/([^/.]+)\/(?:websocket|xhr|xhr_send|xhr_streaming|eventsource|htmlfile|jsonp|jsonp_send))\/?$/;

/** The endpoint path a SockJS URL is below, and its session id (none for /info); undefined when it is no SockJS URL. */
export function sockjsTarget(pathname: string): { endpointPath: string; sessionId: string | undefined } | undefined {
  const match = SOCKJS_SUFFIX.exec(pathname);
  return match ? { endpointPath: match[1], sessionId: match[3] } : undefined;
}

/** sockjs-node's request handler: true when it took the request. Its types omit `listener`. */
type SockjsHandler = (req: IncomingMessage, resOrSocket: ServerResponse | Duplex, head?: Buffer) => boolean;

export interface SockjsTransportOptions {
  /** A regular expression source matching every endpoint path (SockJS anchors it and adds its suffixes). */
  prefixPattern: string;
  heartbeatMs: number;
  logger: Logger;
  /** A session's connection, once SockJS has opened it. */
  onConnection(connection: Connection, sessionId: string): void;
}

/**
 * SockJS (for the 2019 web console) in front of the same endpoints: the gateway authenticates
 * and authorizes each request first, then hands it to sockjs-node, whose connections become
 * StreamSockets. sockjs-node keeps its own queue per session; its heartbeat replaces the ping.
 */
export class SockjsTransport {
  readonly #handler: SockjsHandler;

  constructor(options: SockjsTransportOptions) {
    const server = sockjs.createServer({
      prefix: options.prefixPattern,
      heartbeat_delay: options.heartbeatMs,
      log: (severity, message) => {
        if (severity === 'error') options.logger.error('sockjs', { message });
      },
    });
    server.on('connection', (connection: Connection) => {
      const sessionId = sockjsTarget(connection.pathname)?.sessionId;
      if (sessionId) options.onConnection(connection, sessionId);
      else connection.close('4000', 'not a SockJS session URL');
    });
    const listener = (server as unknown as { listener(options: object): { getHandler(): SockjsHandler } }).listener({});
    this.#handler = listener.getHandler();
  }

  /** Passes an authorized request (or upgrade) to sockjs-node. */
  handle(req: IncomingMessage, resOrSocket: ServerResponse | Duplex, head?: Buffer): boolean {
    return this.#handler(req, resOrSocket, head);
  }
}

/** A StreamSocket over a SockJS connection (text frames only: SockJS carries no binary). */
export function sockjsStreamSocket(connection: Connection): StreamSocket {
  let closed = false;
  const closeHandlers: Array<() => void> = [];
  connection.on('close', () => {
    closed = true;
    for (const handler of closeHandlers.splice(0)) handler();
  });
  return {
    send(frame) {
      if (!closed) connection.write(typeof frame === 'string' ? frame : JSON.stringify(frame));
    },
    sendBinary(data) {
      if (!closed) connection.write(data.toString('utf8'));
    },
    onMessage(handler) {
      connection.on('data', (message: string) => handler(Buffer.from(message, 'utf8'), false));
    },
    onClose(handler) {
      if (closed) handler();
      else closeHandlers.push(handler);
    },
    close(code = 1000, reason = '') {
      connection.close(String(code), reason);
    },
    get closed() {
      return closed;
    },
  };
}
