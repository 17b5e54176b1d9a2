import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import ssh2 from 'ssh2';
import { withDeadline } from './deadline.js';

/** Who to log in as, where, and which host key to expect (none yet: trust on first use). */
export interface HostTarget {
  /** The node name: every error names it. */
  name: string;
  address: string;
  port: number;
  user: string;
  privateKey: string;
  /** `SHA256:<base64>` as OpenSSH prints it; undefined before the first connection. */
  pinnedHostKey?: string;
}

export interface ConnectOptions {
  dockerSocket: string;
  /** Bound of the TCP connect + SSH handshake, and of each later remote call. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/** A step failed on a host: the message names the host and the cause, ready for the cluster's status. */
export class HostError extends Error {
  override readonly name = 'HostError';
  constructor(
    readonly host: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(`${host}: ${message}`, options);
  }
}

/**
 * One SSH session to a provisioned host, and the host's Docker Engine API through it: a unix
 * socket in a private directory of this machine forwards each connection to the host's Docker
 * socket (OpenSSH direct-streamlocal), and dockerode speaks to that socket. One session carries
 * every Docker call, and the pinned host key guards all of them.
 */
export interface HostConnection {
  readonly host: string;
  /** The key the host offered, to pin when it was trusted on first use. */
  readonly hostKey: string;
  readonly docker: Docker;
  /** `docker version` of the host: checks that the socket answers. */
  dockerVersion(): Promise<string>;
  close(): Promise<void>;
}

/** OpenSSH's fingerprint notation: `SHA256:` + unpadded base64 of the key blob's hash. */
export function hostKeyFingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

export async function connectHost(target: HostTarget, options: ConnectOptions): Promise<HostConnection> {
  const client = new ssh2.Client();
  let offeredKey: string | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    client.once('ready', resolve);
    client.once('error', reject);
  });
  client.connect({
    host: target.address,
    port: target.port,
    username: target.user,
    privateKey: target.privateKey,
    readyTimeout: options.timeoutMs,
    hostVerifier: (key: Buffer) => {
      offeredKey = hostKeyFingerprint(key);
      return target.pinnedHostKey === undefined || target.pinnedHostKey === offeredKey;
    },
  });
  try {
    await withDeadline(`ssh to ${target.name}`, ready, options.timeoutMs, options.signal, () => client.end());
  } catch (err) {
    client.end();
    throw new HostError(target.name, describeSshFailure(target, err as Error, offeredKey), { cause: err });
  }
  const forwarded = await forwardDockerSocket(client, options.dockerSocket);
  const docker = new Docker({ socketPath: forwarded.path, timeout: options.timeoutMs });
  return {
    host: target.name,
    hostKey: offeredKey!,
    docker,
    async dockerVersion() {
      try {
        const version = await withDeadline(`docker version on ${target.name}`, docker.version(), options.timeoutMs, options.signal);
        return version.Version;
      } catch (err) {
        const cause = forwarded.lastRefusal() ?? (err as Error).message;
        throw new HostError(target.name, `Docker does not answer on ${options.dockerSocket}: ${cause}`, { cause: err });
      }
    },
    async close() {
      await forwarded.close();
      client.end();
    },
  };
}

function describeSshFailure(target: HostTarget, err: Error, offeredKey: string | undefined): string {
  const where = `${target.address}:${target.port}`;
  if (target.pinnedHostKey !== undefined && offeredKey !== undefined && offeredKey !== target.pinnedHostKey) {
    return `host key of ${where} changed: pinned ${target.pinnedHostKey}, offered ${offeredKey}; if the host was reinstalled, remove and re-add the node`;
  }
  if (/authentication methods failed/i.test(err.message)) return `${where} refused the SSH key for user ${target.user}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ECONNREFUSED') return `nothing listens for SSH on ${where} (connection refused)`;
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return `${where} is unreachable`;
  if (/timed out/i.test(err.message) || err.name === 'DeadlineExceededError') return `no SSH answer from ${where} (${err.message})`;
  return `ssh to ${where} failed: ${err.message}`;
}

interface ForwardedSocket {
  path: string;
  /** Why the host last refused to open its socket (Docker clients only see a hang-up). */
  lastRefusal(): string | undefined;
  close(): Promise<void>;
}

async function forwardDockerSocket(client: ssh2.Client, remoteSocket: string): Promise<ForwardedSocket> {
  // Only this process may use the forward: a 0700 directory of its own.
  const dir = mkdtempSync(path.join(tmpdir(), 'zcloud-docker-'));
  const socketPath = path.join(dir, 'docker.sock');
  const open = new Set<Socket>();
  let refusal: string | undefined;
  // Half-open allowed: an attach closes its write side while output still flows back.
  const server: Server = createServer({ allowHalfOpen: true }, (local) => {
    open.add(local);
    local.on('close', () => open.delete(local));
    client.openssh_forwardOutStreamLocal(remoteSocket, (err, remote) => {
      if (err) {
        refusal = `the host refused to forward ${remoteSocket} (${err.message})`;
        local.destroy();
        return;
      }
      refusal = undefined;
      local.pipe(remote).pipe(local);
      local.on('error', () => remote.destroy());
      remote.on('error', () => local.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, resolve);
  });
  return {
    path: socketPath,
    lastRefusal: () => refusal,
    close: async () => {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
