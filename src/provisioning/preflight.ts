import type Docker from 'dockerode';
import type { ProvisionedNode } from '../clusters/provisioning-spec.js';
import { CLUSTER_LABEL, runOnce, type DockerCallOptions } from './containers.js';
import { withDeadline } from './deadline.js';
import { imageReference } from './images.js';
import { APISERVER_PORT, hasRole } from './node-plan.js';

/**
 * Pre-flight checks of the connect step, made on every host before any host is changed (ZKE/RKE
 * do the same): the Docker version, and the ports the node's roles will listen on.
 */

/**
 * Docker versions zcloud provisions on: from 1.13.1 (API 1.26, the oldest Kubernetes 1.20's
 * dockershim speaks) up to, not including, 25.0 (released after dockershim left Kubernetes;
 * never tried with it). `ignoreDockerVersion` lets an operator go outside it.
 */
export const SUPPORTED_DOCKER_VERSIONS = { from: [1, 13, 1], below: [25, 0, 0] } as const;
export const SUPPORTED_DOCKER_TEXT = '>= 1.13.1 and < 25.0';

/** `20.10.24+dfsg1`, `17.03.2-ce`, `1.13.1` → numbers; undefined when it does not start with major.minor. */
export function parseDockerVersion(version: string): [number, number, number] | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

function compare(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/** Why `version` is refused, or undefined when it lies in the supported range. */
export function dockerVersionProblem(version: string): string | undefined {
  const parsed = parseDockerVersion(version);
  if (!parsed) return `Docker version ${JSON.stringify(version)} cannot be read; supported: ${SUPPORTED_DOCKER_TEXT}`;
  if (compare(parsed, SUPPORTED_DOCKER_VERSIONS.from) < 0 || compare(parsed, SUPPORTED_DOCKER_VERSIONS.below) >= 0) {
    return `Docker ${version} is outside the supported versions (${SUPPORTED_DOCKER_TEXT}); upgrade Docker or set ignoreDockerVersion`;
  }
  return undefined;
}

export interface RequiredPort {
  port: number;
  /** Who will listen on it, for the message. */
  user: string;
}

/**
 * The TCP ports a node's components listen on: every node runs the kubelet and kube-proxy;
 * etcd hosts etcd's client and peer ports; controlplane hosts the apiserver and the secure
 * ports of the controller-manager and scheduler. (Ingress on edge nodes, 80/443, is a pod the
 * cluster schedules later, not checked here.)
 */
export function requiredPorts(node: ProvisionedNode): RequiredPort[] {
  const ports: RequiredPort[] = [];
  if (hasRole(node, 'etcd')) ports.push({ port: 2379, user: 'etcd client' }, { port: 2380, user: 'etcd peer' });
  if (hasRole(node, 'controlplane')) {
    ports.push({ port: APISERVER_PORT, user: 'kube-apiserver' }, { port: 10257, user: 'kube-controller-manager' }, { port: 10259, user: 'kube-scheduler' });
  }
  ports.push({ port: 10250, user: 'kubelet' }, { port: 10248, user: 'kubelet healthz' }, { port: 10249, user: 'kube-proxy metrics' }, { port: 10256, user: 'kube-proxy healthz' });
  return ports;
}

/** A listening TCP socket from /proc/net/tcp{,6}: its port and socket inode. */
export interface ListeningSocket {
  port: number;
  inode: string;
}

/** The LISTEN (state 0A) rows of /proc/net/tcp and tcp6. */
export function parseListeningSockets(procNetTcp: string): ListeningSocket[] {
  const sockets: ListeningSocket[] = [];
  for (const line of procNetTcp.split(/\r?\n/)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 10 || fields[3] !== '0A') continue;
    const port = Number.parseInt(fields[1]!.split(':').at(-1)!, 16);
    if (Number.isFinite(port)) sockets.push({ port, inode: fields[9]! });
  }
  return sockets;
}

/** Who holds a socket: its process, and the container it runs in when there is one. */
export interface SocketHolder {
  pid: number;
  command: string;
  containerId?: string;
}

/** Lines `holder <pid> <inode> <comm> <cgroup lines...>` of the holder probe, by inode. */
export function parseHolders(output: string): Map<string, SocketHolder> {
  const holders = new Map<string, SocketHolder>();
  for (const line of output.split(/\r?\n/)) {
    const [tag, pid, inode, command, ...cgroups] = line.trim().split(/\s+/);
    if (tag !== 'holder' || !pid || !inode) continue;
    // Docker puts a container's processes in a cgroup named after its 64-hex id (…/docker/<id> or …/docker-<id>.scope).
    const containerId = /([0-9a-f]{64})/.exec(cgroups.join(' '))?.[1];
    holders.set(inode, { pid: Number(pid), command: command ?? '?', ...(containerId ? { containerId } : {}) });
  }
  return holders;
}

/**
 * Finds the holders of the sockets with `inodes`: every process's fd table (host pid namespace,
 * privileged to read other processes' fds), then each holder's command and cgroup.
 */
const holderScript = String.raw`ls -l /proc/[0-9]*/fd 2>/dev/null | awk -v inodes="$INODES" '
BEGIN { n = split(inodes, list, ","); for (i = 1; i <= n; i++) want[list[i]] = 1 }
/^\/proc\/[0-9]+\/fd:/ { split($0, parts, "/"); pid = parts[3]; next }
/socket:\[/ { s = $NF; gsub(/[^0-9]/, "", s); if (s in want) print pid, s }
' | sort -u | while read pid inode; do
  echo "holder $pid $inode $(cat /proc/$pid/comm 2>/dev/null || echo '?') $(cat /proc/$pid/cgroup 2>/dev/null | tr '\n' ' ')"
done`;

/**
 * Refuses a host where a port the node needs is taken by anything but this cluster's own
 * containers (so a re-run passes). The error names the port, its use, and the holder (command,
 * pid, container) as far as the host tells.
 */
export async function checkPorts(docker: Docker, node: ProvisionedNode, options: DockerCallOptions): Promise<string> {
  const base = imageReference('base');
  const sockets = parseListeningSockets(await runOnce(docker, base, ['sh', '-c', 'cat /proc/net/tcp; cat /proc/net/tcp6 2>/dev/null; true'], options));
  const needed = requiredPorts(node);
  const taken = sockets.filter((s) => needed.some((n) => n.port === s.port));
  if (taken.length === 0) return `ports ${needed.map((n) => n.port).join(', ')} free`;

  const holders = parseHolders(
    await runOnce(docker, base, ['sh', '-c', `INODES=${taken.map((s) => s.inode).join(',')}; ${holderScript}`], options, { privileged: true, pidHost: true }),
  );
  const running = await withDeadline(`list containers on ${options.host}`, docker.listContainers(), options.timeoutMs, options.signal);
  const containerOf = (id: string | undefined) => (id ? running.find((c) => c.Id === id) : undefined);
  const problems: string[] = [];
  const ours: number[] = [];
  for (const socket of taken) {
    const holder = holders.get(socket.inode);
    const container = containerOf(holder?.containerId);
    if (container?.Labels[CLUSTER_LABEL] === options.cluster) {
      ours.push(socket.port);
      continue;
    }
    const use = needed.find((n) => n.port === socket.port)!.user;
    const who = holder
      ? `${holder.command} (pid ${holder.pid}${container ? `, container ${(container.Names[0] ?? container.Id).replace(/^\//, '')}` : holder.containerId ? `, container ${holder.containerId.slice(0, 12)}` : ''})`
      : 'a process zcloud could not identify';
    problems.push(`port ${socket.port} (${use}) is in use by ${who}`);
  }
  if (problems.length > 0) throw new Error(`${[...new Set(problems)].join('; ')}; free it or set disablePortCheck`);
  return `ports free but ${[...new Set(ours)].sort((a, b) => a - b).join(', ')} (held by this cluster's containers)`;
}
