import { once } from 'node:events';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { untilAborted, type Runnable } from '../src/manager.js';

/** What the streams take from the HTTP server before Express sees a request. */
export interface StreamHandlers {
  /** Takes a request that is the streams' (SockJS), answering true; false leaves it to Express. */
  handleRequest(req: IncomingMessage, res: ServerResponse): boolean;
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

/**
 * The HTTP server as a Runnable: listens when started, and when stopped closes every
 * connection (in-flight requests are cut; clients retry) so the controllers can drain next.
 */
export class HttpServer implements Runnable {
  readonly #listening: Promise<AddressInfo>;
  #resolveListening!: (address: AddressInfo) => void;
  #rejectListening!: (err: unknown) => void;

  constructor(
    private readonly app: RequestListener,
    private readonly port: number,
    private readonly host: string,
    /** How the manager's log names it (there may be two: the API and the metrics port). */
    readonly name = 'http',
    /** Takes websocket upgrades and SockJS requests (the streams); without it upgrades are refused. */
    private readonly streams?: StreamHandlers,
  ) {
    this.#listening = new Promise((resolve, reject) => {
      this.#resolveListening = resolve;
      this.#rejectListening = reject;
    });
    // A failed listen is reported to the manager by start; don't also crash on an unheard rejection.
    this.#listening.catch(() => undefined);
  }

  /** The bound address once listening; rejects if listening failed. */
  get listening(): Promise<AddressInfo> {
    return this.#listening;
  }

  async start(signal: AbortSignal): Promise<void> {
    let server: Server;
    try {
      const { streams, app } = this;
      server = createServer((req, res) => void (streams?.handleRequest(req, res) || app(req, res)));
      if (streams) server.on('upgrade', streams.handleUpgrade);
      server.listen(this.port, this.host);
      await once(server, 'listening');
    } catch (err) {
      this.#rejectListening(err);
      throw err;
    }
    this.#resolveListening(server.address() as AddressInfo);
    await untilAborted(signal);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
