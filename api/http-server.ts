import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type express from 'express';
import { untilAborted, type Runnable } from '../src/manager.js';

/**
 * The HTTP server as a Runnable: listens when started, and when stopped closes every
 * connection (in-flight requests are cut; clients retry) so the controllers can drain next.
 */
export class HttpServer implements Runnable {
  readonly #listening: Promise<AddressInfo>;
  #resolveListening!: (address: AddressInfo) => void;
  #rejectListening!: (err: unknown) => void;

  constructor(
    private readonly app: express.Express,
    private readonly port: number,
    private readonly host: string,
    /** How the manager's log names it (there may be two: the API and the metrics port). */
    readonly name = 'http',
    /** Takes websocket upgrade requests (the streams); without it they are refused. */
    private readonly onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
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
      server = this.app.listen(this.port, this.host);
      if (this.onUpgrade) server.on('upgrade', this.onUpgrade);
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
