import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { sleep } from '../../../src/backoff.js';
import { kubeletClientName } from '../pki.js';
import { kubeletAddress, type SimulatorConfig } from './config.js';
import { containerRun, firstLine, lineTime, linesWritten, logLine, NoLogError, type ContainerRun, type LogOptions } from './container-log.js';
import type { Pod } from './kube-types.js';
import { stop, type Sandboxes } from './sandbox.js';

/** The simulator's current view of a pod (from its watch), or undefined once it is gone. */
export type PodLookup = (namespace: string, name: string) => Pod | undefined;

/** The streaming protocol the apiserver passes through from its clients (kubectl, client-node). */
const channelProtocol = 'v4.channel.k8s.io';
const channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4 } as const;

/**
 * The kubelet API the apiserver proxies `pods/log` and `pods/exec` to, for every simulated
 * node at once (on 127.0.0.1, the nodes' InternalDNS address): `GET /containerLogs/{ns}/{pod}/{container}`
 * (follow, tailLines, sinceSeconds, timestamps), and over a websocket (`v4.channel.k8s.io`)
 * `/exec/{ns}/{pod}/{container}`, which runs the command in the container's sandbox, and
 * `/attach/...`, whose stdout is the container's log from then on. Only the
 * apiserver's kubelet client certificate is served, as a kubelet with webhook authn would.
 */
export class KubeletServer {
  readonly #sockets = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => (offered.has(channelProtocol) ? channelProtocol : false) });

  constructor(
    private readonly config: SimulatorConfig,
    private readonly pods: PodLookup,
    private readonly sandboxes: Sandboxes,
    private readonly log: (message: string) => void,
  ) {}

  /** Serves until `signal` aborts; rejects only when the port cannot be bound. */
  async run(signal: AbortSignal): Promise<void> {
    const { serving, clientCa, port } = this.config.kubelet;
    const server = createServer({ cert: readFileSync(serving.cert), key: readFileSync(serving.key), ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      if (!this.#authorized(req)) return void res.writeHead(403).end('only the apiserver may call the kubelet\n');
      this.#serveLog(req, res, signal).catch((err: unknown) => {
        this.log(`kubelet ${req.url}: ${(err as Error).message}`);
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.on('upgrade', (req: IncomingMessage, socket, head) => {
      const exec = this.#target(req, 'exec');
      const attach = this.#target(req, 'attach');
      if (!this.#authorized(req) || !(exec ?? attach)) return void socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      this.#sockets.handleUpgrade(req, socket, head, (ws) => {
        if (exec) this.#exec(ws, exec, new URL(req.url!, 'https://kubelet').searchParams);
        else this.#attach(ws, attach!, signal);
      });
    });
    await listen(server, port);
    this.log(`kubelet API on https://${kubeletAddress}:${port}`);
    await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    for (const client of this.#sockets.clients) client.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  #authorized(req: IncomingMessage): boolean {
    return (req.socket as TLSSocket).getPeerCertificate().subject?.CN === kubeletClientName;
  }

  /** The pod and container of `/{kind}/{ns}/{pod}/{container}`, when it is one of ours. */
  #target(req: IncomingMessage, kind: 'containerLogs' | 'exec' | 'attach'): { pod: Pod; container: string } | undefined {
    const parts = new URL(req.url ?? '/', 'https://kubelet').pathname.split('/').map(decodeURIComponent);
    if (parts.length !== 5 || parts[1] !== kind) return undefined;
    const pod = this.pods(parts[2]!, parts[3]!);
    return pod ? { pod, container: parts[4]! } : undefined;
  }

  async #serveLog(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const target = req.method === 'GET' ? this.#target(req, 'containerLogs') : undefined;
    if (!target) return void res.writeHead(404).end('not found\n');
    const query = new URL(req.url!, 'https://kubelet').searchParams;
    const number = (name: string): number | undefined => (query.has(name) ? Number(query.get(name)) : undefined);
    const options: LogOptions = { follow: query.get('follow') === 'true', tailLines: number('tailLines'), sinceSeconds: number('sinceSeconds'), timestamps: query.get('timestamps') === 'true' };
    let run;
    try {
      run = containerRun(target.pod, target.container);
    } catch (err) {
      if (err instanceof NoLogError) return void res.writeHead(400, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
      throw err;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    for await (const line of this.#lines(target, run, options, AbortSignal.any([signal, closed.signal]))) res.write(line);
    res.end();
  }

  /**
   * The lines of `run` from where `options` say; with `follow`, then each new one until the
   * container terminates, its pod goes, or `stop` aborts.
   */
  async *#lines(target: { pod: Pod; container: string }, first: ContainerRun, options: LogOptions, stop: AbortSignal): AsyncGenerator<string> {
    const interval = this.config.logIntervalMs;
    const { namespace, name } = target.pod.metadata;
    let run = first;
    let next = firstLine(run, Date.now(), interval, options);
    for (;;) {
      for (const written = linesWritten(run, Date.now(), interval); next <= written; next++) yield logLine(run, next, interval, options.timestamps);
      if (!options.follow || run.finishedAt !== undefined) return;
      await sleep(Math.max(0, lineTime(run, next, interval) - Date.now()), stop);
      if (stop.aborted) return;
      // The container ends with its pod, or when it terminates: serve to its end, then stop.
      const pod = this.pods(namespace!, name);
      if (!pod || pod.metadata.uid !== target.pod.metadata.uid || pod.metadata.deletionTimestamp) return;
      try {
        run = containerRun(pod, target.container);
      } catch (err) {
        if (err instanceof NoLogError) return;
        throw err;
      }
    }
  }

  /**
   * Attach: the container's main process is its log writer, so its stdout is the log from now
   * on; input is ignored (the simulated process reads none). Ends when the container does.
   */
  #attach(ws: WebSocket, target: { pod: Pod; container: string }, signal: AbortSignal): void {
    const closed = new AbortController();
    ws.on('close', () => closed.abort());
    const send = (number: number, data: string): void => {
      if (ws.readyState === ws.OPEN) ws.send(Buffer.concat([Buffer.from([number]), Buffer.from(data)]));
    };
    const stream = async (): Promise<object> => {
      let run;
      try {
        run = containerRun(target.pod, target.container);
      } catch (err) {
        if (err instanceof NoLogError) return { status: 'Failure', reason: 'BadRequest', message: err.message };
        throw err;
      }
      const options = { follow: true, tailLines: 0, timestamps: false };
      for await (const line of this.#lines(target, run, options, AbortSignal.any([signal, closed.signal]))) send(channel.stdout, line);
      return { status: 'Success' };
    };
    void stream()
      .catch((err: unknown) => ({ status: 'Failure', reason: 'InternalError', message: (err as Error).message }))
      .then((status) => {
        send(channel.error, JSON.stringify({ metadata: {}, ...status }));
        ws.close(1000);
      });
  }

  #exec(ws: WebSocket, target: { pod: Pod; container: string }, query: URLSearchParams): void {
    const container = target.pod.spec.containers.find((c) => c.name === target.container);
    const command = query.getAll('command');
    const finish = (status: object): void => {
      ws.send(Buffer.concat([Buffer.from([channel.error]), Buffer.from(JSON.stringify({ metadata: {}, ...status }))]));
      ws.close(1000);
    };
    if (!container || command.length === 0) {
      return finish({ status: 'Failure', reason: 'BadRequest', message: !container ? `container ${target.container} is not valid` : 'you must specify at least one command' });
    }
    const tty = query.get('tty') === 'true' || query.get('tty') === '1';
    const shell = this.sandboxes.start({ pod: target.pod, container, command, tty });
    const forward = (number: number) => (data: Buffer) => ws.readyState === ws.OPEN && ws.send(Buffer.concat([Buffer.from([number]), data]));
    shell.child.stdout!.on('data', forward(channel.stdout));
    shell.child.stderr!.on('data', forward(channel.stderr));
    shell.child.stdin!.on('error', () => undefined); // a write after the shell exited; its exit ends the session
    ws.on('message', (data: Buffer) => {
      if (data.length === 0) return;
      if (data[0] === channel.stdin) shell.child.stdin!.write(data.subarray(1));
      else if (data[0] === channel.resize) {
        const size = terminalSize(data.subarray(1));
        if (size) shell.resize(size.width, size.height).catch((err: unknown) => this.log(`exec resize: ${(err as Error).message}`));
      }
    });
    ws.on('close', () => stop(shell.child));
    shell.child.on('error', (err) => finish({ status: 'Failure', reason: 'InternalError', message: err.message }));
    // 'close': after the exit and the last output.
    shell.child.on('close', (code) => {
      if (ws.readyState !== ws.OPEN) return;
      if (code === 0) return finish({ status: 'Success' });
      finish({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        message: `command terminated with non-zero exit code: exit status ${code ?? 'signal'}`,
        details: { causes: [{ reason: 'ExitCode', message: String(code ?? 137) }] },
      });
    });
  }
}

/** A resize message: `{Width, Height}` as Go clients write it, `{width, height}` as client-node does (Go's decoder takes both). */
function terminalSize(json: Buffer): { width: number; height: number } | undefined {
  const size = Object.fromEntries(Object.entries(JSON.parse(json.toString('utf8')) as Record<string, unknown>).map(([key, value]) => [key.toLowerCase(), value]));
  const { width, height } = size;
  return Number.isInteger(width) && Number.isInteger(height) ? { width: width as number, height: height as number } : undefined;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, kubeletAddress, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
