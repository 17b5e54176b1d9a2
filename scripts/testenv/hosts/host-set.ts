import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeJson } from '../cluster-layout.js';
import { waitUntil } from '../probe.js';
import { isOurProcess, signal, startDetached, stopProcess } from '../processes.js';
import { formatDuration, progress } from '../progress.js';
import { dockerdArgs, dockerPing, hostCgroupParent, hostDockerSocket, writeRuntimeWrapper } from './dockerd.js';
import { buildHostImages, loadImages, type HostImages } from './images.js';
import {
  defaultSshUser,
  hostSetLayout,
  knownHostSetNames,
  readHostPids,
  readHostSetState,
  type HostLayout,
  type HostNode,
  type HostPidTable,
  type HostSetLayout,
  type HostSetState,
  type HostsFile,
} from './layout.js';
import { enterHost, ensureHostNamespaces, ensurePrivateNamespacesDir, ownMountPoints, processesInsideHost, removeHostNamespaces, removeNamespacesDir, type BindMount } from './namespaces.js';
import { bridgeAddress, ensureBridge, ensureHostNetwork, hostAddress, maxHostsPerSet, claimSubnetIndex, releaseSubnetIndex, remainingLinks, removeBridge, removeHostNetwork } from './network.js';
import { ensureUserKey, freeAccountId, writeAccountFiles, writeSshdConfig } from './sshd.js';

export interface HostSetOptions {
  /** How many hosts; default 3 for a new set, the set's current count otherwise. May grow a set, not shrink it. */
  count?: number;
  /** The login user of a new set; default `zcloud`. */
  sshUser?: string;
}

/** A host set as `upHosts` left it. */
export interface HostSetInfo {
  name: string;
  dir: string;
  hostsJsonPath: string;
  hosts: HostsFile;
  /** Images of the image table that could not be built (kubelet/kube-proxy before their build). */
  missingImages: HostImages['missing'];
}

export interface HostStatus {
  name: string;
  address: string;
  sshd: { pid?: number; alive: boolean };
  dockerd: { pid?: number; alive: boolean };
}

export interface HostSetStatus {
  name: string;
  dir: string;
  subnet: string;
  hosts: HostStatus[];
}

/**
 * Paths that every host gets its own copy of: containers bind-mounting them (kubelet, etcd,
 * the control plane) see that host's files only. Each must exist on this machine as a mount
 * point; `ensureHostMountPoints` creates the missing (empty) ones.
 */
const perHostDirectories = [
  '/etc/kubernetes',
  '/etc/cni',
  '/etc/docker',
  '/var/lib/kubelet',
  '/var/lib/etcd',
  '/var/lib/cni',
  '/var/lib/dockershim',
  '/var/log',
  '/opt',
  '/home',
  '/run',
] as const;

/** Creates the mount points of `perHostDirectories` this machine lacks (empty directories, as the packages would). */
export function ensureHostMountPoints(): void {
  for (const dir of perHostDirectories) mkdirSync(dir, { recursive: true });
}

function hostMounts(host: HostLayout): BindMount[] {
  const dirs = perHostDirectories.map((target) => {
    const source = target === '/run' ? host.runDir : target === '/home' ? host.homeDir : join(host.dir, 'fs', target.slice(1).replaceAll('/', '-'));
    mkdirSync(source, { recursive: true });
    return target === '/var/lib/kubelet' ? { source, target, propagation: 'shared' as const } : { source, target };
  });
  const accounts = ['passwd', 'group', 'shadow'].map((file) => ({ source: join(host.etcDir, file), target: `/etc/${file}` }));
  return [...dirs, ...accounts];
}

/** Limits for the readiness waits; sshd and dockerd are up in well under a second when idle. */
const sshdReadyMs = 20_000;
const dockerdReadyMs = 60_000;

/**
 * Starts host set `name`, or the parts of it that are not running: per host a network and a
 * mount namespace, sshd and dockerd, with the image table's images loaded. Idempotent, like
 * `up`. Writes `.testenv/<name>/hosts.json` and returns it. Root only.
 */
export async function upHosts(name: string, options: HostSetOptions = {}): Promise<HostSetInfo> {
  const begun = Date.now();
  if (process.getuid?.() !== 0) throw new Error('host sets need root (network and mount namespaces)');
  const layout = hostSetLayout(name);
  if (existsSync(join(layout.dir, 'state.json'))) throw new Error(`${name} is a test cluster; pick another name for the host set`);
  ensureHostMountPoints();
  for (const dir of [layout.dir, layout.logsDir]) mkdirSync(dir, { recursive: true });
  const state = await loadOrCreateState(layout, options);
  await ensureUserKey(layout);
  await ensurePrivateNamespacesDir(layout);
  await ensureBridge(state);
  const runtimePath = writeRuntimeWrapper(layout);
  const pids = readHostPids(layout);
  const images = await buildHostImages();

  const started: string[] = [];
  for (const node of state.nodes) {
    const host = layout.host(node.name);
    for (const dir of [host.dir, host.runDir, host.homeDir]) mkdirSync(dir, { recursive: true });
    writeAccountFiles(host, { user: state.sshUser, uid: state.uid, gid: state.gid });
    await ensureHostNetwork(state, node, host);
    await ensureHostNamespaces(host, node.name, hostMounts(host));
    ensureCgroups(hostCgroupParent(node.name));
    const sshdConfig = await writeSshdConfig(layout, state, host, node.address);
    const processes = (pids[node.name] ??= {});
    if (!alive(processes.sshd, host)) {
      processes.sshd = startDetached({ command: 'nsenter', args: [...enterHost(host), '/usr/sbin/sshd', '-D', '-e', '-f', sshdConfig], cwd: host.dir, env: process.env, logPath: host.sshdLogPath });
      started.push(`${node.name}/sshd`);
    }
    if (!alive(processes.dockerd, host)) {
      processes.dockerd = startDetached({ command: 'nsenter', args: [...enterHost(host), ...dockerdArgs(host, node.name, runtimePath)], cwd: host.dir, env: process.env, logPath: host.dockerdLogPath });
      started.push(`${node.name}/dockerd`);
    }
    writeJson(layout.pidsPath, pids);
  }

  try {
    await Promise.all(
      state.nodes.map(async (node) => {
        const host = layout.host(node.name);
        const processes = pids[node.name]!;
        const died = (daemon: 'sshd' | 'dockerd') => (): string | undefined => (alive(processes[daemon], host) ? undefined : `${daemon} exited (see ${daemon === 'sshd' ? host.sshdLogPath : host.dockerdLogPath})`);
        await waitUntil(() => sshAnswers(node.address), { what: `sshd of ${node.name} on ${node.address}:22`, withinMs: sshdReadyMs, abortReason: died('sshd') });
        await waitUntil(() => dockerPing(host.dockerSocketOutside), { what: `dockerd of ${node.name}`, withinMs: dockerdReadyMs, abortReason: died('dockerd') });
        const imported = await loadImages(host.dockerSocketOutside, images.images);
        if (imported.length) progress(`${node.name}: loaded ${imported.join(', ')}`);
      }),
    );
  } catch (err) {
    // Like `up`: what this call started does not outlive its failure.
    const startedNodes = state.nodes.filter((node) => started.some((entry) => entry.startsWith(`${node.name}/`)));
    await Promise.all(startedNodes.map((node) => stopHost(layout, node, pids)));
    writeJson(layout.pidsPath, pids);
    throw new Error(`start host set ${name}: ${(err as Error).message}`, { cause: err });
  }

  const hosts: HostsFile = {
    sshUser: state.sshUser,
    sshKey: readFileSync(layout.userKeyPath, 'utf8'),
    dockerSocket: hostDockerSocket,
    nodes: state.nodes.map((node) => ({ name: node.name, address: node.address, sshPort: 22 })),
  };
  writeJson(layout.hostsJsonPath, hosts);
  // It holds the login key.
  chmodSync(layout.hostsJsonPath, 0o600);
  for (const missing of images.missing) progress(`image ${missing.role} not loaded: ${missing.reason}`);
  if (started.length) progress(`host set ${name} up in ${formatDuration(Date.now() - begun)} (${state.nodes.map((node) => node.address).join(', ')})`);
  return { name, dir: layout.dir, hostsJsonPath: layout.hostsJsonPath, hosts, missingImages: images.missing };
}

/** Stops every daemon and container of host set `name` (by pid), keeping namespaces, data, keys and images. */
export async function downHosts(name: string): Promise<void> {
  const layout = hostSetLayout(name);
  const state = readHostSetState(layout);
  if (!state) return;
  const pids = readHostPids(layout);
  await Promise.all(state.nodes.map((node) => stopHost(layout, node, pids)));
  if (existsSync(layout.dir)) writeJson(layout.pidsPath, pids);
}

/**
 * Stops host set `name` and removes everything it made: processes, namespaces, interfaces,
 * mounts, cgroups and the directory. The machine is left as it was before the first `hosts`
 * (apart from what `ensure` installed).
 */
export async function destroyHosts(name: string): Promise<void> {
  const layout = hostSetLayout(name);
  const state = readHostSetState(layout);
  if (state) {
    await downHosts(name);
    for (const node of state.nodes) {
      const host = layout.host(node.name);
      await removeHostNamespaces(host);
      await removeHostNetwork(state, node, host);
      await removeCgroups(hostCgroupParent(node.name));
    }
    await removeBridge(state);
    await releaseSubnetIndex(state.subnetIndex, layout.statePath);
  }
  await removeNamespacesDir(layout);
  rmSync(layout.dir, { recursive: true, force: true });
}

/** Grace for dockerd: it stops its containers first (10 s each by default, in parallel). */
const dockerdStopMs = 20_000;
const sshdStopMs = 3_000;

async function stopHost(layout: HostSetLayout, node: HostNode, pids: HostPidTable): Promise<void> {
  const host = layout.host(node.name);
  const processes = pids[node.name] ?? {};
  if (processes.sshd !== undefined) await stopProcess(processes.sshd, marker(host), sshdStopMs);
  if (processes.dockerd !== undefined) await stopProcess(processes.dockerd, marker(host), dockerdStopMs);
  delete pids[node.name];
  // Whatever is still inside (login sessions, a container shim that outlived its daemon) is
  // this host's by construction: it runs in the host's own namespaces.
  for (const pid of processesInsideHost(host)) signal(pid, 'SIGTERM');
  const deadline = Date.now() + 5_000;
  while (processesInsideHost(host).length && Date.now() < deadline) await sleep(100);
  for (const pid of processesInsideHost(host)) signal(pid, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (processesInsideHost(host).length && Date.now() < killDeadline) await sleep(50);
}

/**
 * Last resort for a test process that exits without its `after` hook having run: SIGTERM to
 * the set's sshd and dockerd (by recorded pid, if still theirs). Synchronous, as 'exit'
 * handlers must be; dockerd stops its containers by itself.
 */
export function signalHostSetDaemons(name: string): void {
  const layout = hostSetLayout(name);
  for (const [node, processes] of Object.entries(readHostPids(layout))) {
    const host = layout.host(node);
    for (const pid of [processes.sshd, processes.dockerd]) if (alive(pid, host)) signal(pid!, 'SIGTERM');
  }
}

const setsToSignalOnExit = new Set<string>();

/**
 * For tests: should the process exit before its `after` hook ran (a bail, an interrupt), the
 * set's daemons still get SIGTERM. One 'exit' handler for every set, however many test files
 * ask (a handler per file tripped Node's listener-leak warning).
 */
export function signalHostSetOnExit(name: string): void {
  if (setsToSignalOnExit.size === 0) process.once('exit', () => setsToSignalOnExit.forEach(signalHostSetDaemons));
  setsToSignalOnExit.add(name);
}

/** Every argument list of a host's daemons names a file in the host's directory. */
function marker(host: HostLayout): string {
  return `${host.dir}/`;
}

function alive(pid: number | undefined, host: HostLayout): boolean {
  return pid !== undefined && isOurProcess(pid, marker(host));
}

/** Whether an SSH server greets on address:22 ("SSH-2.0-..."). */
function sshAnswers(address: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port: 22, timeout: 2_000 });
    socket.once('data', (data: Buffer) => {
      socket.destroy();
      resolve(data.toString('utf8').startsWith('SSH-'));
    });
    // Refused or timed out: not listening yet; the caller polls again.
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/**
 * Creates the host's cgroup in every v1 hierarchy: dockerd's `--cgroup-parent` and the cgroup
 * a kubelet on the host is given as `--cgroup-root` (the kubelet does not create its root in
 * hierarchies it does not know, and then refuses to start).
 */
function ensureCgroups(name: string): void {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  for (const hierarchy of readdirSync(root, { withFileTypes: true })) {
    if (hierarchy.isDirectory() && hierarchy.name !== 'unified') mkdirSync(join(root, hierarchy.name, name), { recursive: true });
  }
}

/**
 * Removes the host's cgroup (its containers' parent) from every v1 hierarchy, deepest first.
 * A pod cgroup the kubelet made may still hold a dying process, or be busy for a moment after
 * its last one left (EBUSY): whatever is still inside is this host's, so it is killed, and the
 * removal retried for a few seconds.
 */
async function removeCgroups(name: string): Promise<void> {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return;
  const removeTree = async (dir: string): Promise<void> => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) await removeTree(join(dir, entry.name));
    for (let attempt = 0; ; attempt++) {
      try {
        rmdirSync(dir);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 50) throw error;
        for (const pid of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) signal(Number(pid), 'SIGKILL');
        await sleep(100);
      }
    }
  };
  for (const hierarchy of readdirSync(root)) {
    const dir = join(root, hierarchy, name);
    if (existsSync(dir)) await removeTree(dir);
  }
}

async function loadOrCreateState(layout: HostSetLayout, options: HostSetOptions): Promise<HostSetState> {
  const existing = readHostSetState(layout);
  const count = options.count ?? existing?.nodes.length ?? 3;
  if (!Number.isInteger(count) || count < 1 || count > maxHostsPerSet) throw new Error(`--count must be 1-${maxHostsPerSet}, got ${count}`);
  const taken = new Set(knownHostSetNames().filter((other) => other !== layout.name).map((other) => readHostSetState(hostSetLayout(other))?.subnetIndex ?? 0));
  const subnetIndex = await claimSubnetIndex(layout.statePath, existing?.subnetIndex, taken);
  if (existing) {
    if (options.sshUser !== undefined && options.sshUser !== existing.sshUser) {
      throw new Error(`host set ${layout.name} logs in as ${existing.sshUser}; destroy it to change the user`);
    }
    if (count < existing.nodes.length) throw new Error(`host set ${layout.name} has ${existing.nodes.length} hosts; destroy it to start with fewer`);
    // Another checkout took the index while this set was down (after a reboot): move the set.
    const nodes = existing.nodes.map((node) => (subnetIndex === existing.subnetIndex ? node : newNode(layout.name, subnetIndex, node.index)));
    for (let index = nodes.length + 1; index <= count; index++) nodes.push(newNode(layout.name, subnetIndex, index));
    const state = { ...existing, subnetIndex, bridgeAddress: bridgeAddress(subnetIndex), nodes };
    writeJson(layout.statePath, state);
    return state;
  }
  const id = freeAccountId();
  const sshUser = options.sshUser ?? defaultSshUser;
  if (!/^[a-z_][a-z0-9_-]{0,30}$/.test(sshUser)) throw new Error(`invalid login user ${JSON.stringify(sshUser)}`);
  const state: HostSetState = {
    name: layout.name,
    subnetIndex,
    bridgeAddress: bridgeAddress(subnetIndex),
    sshUser,
    uid: id,
    gid: id,
    nodes: Array.from({ length: count }, (_, i) => newNode(layout.name, subnetIndex, i + 1)),
    createdAt: new Date().toISOString(),
  };
  writeJson(layout.statePath, state);
  return state;
}

function newNode(setName: string, subnetIndex: number, index: number): HostNode {
  return { name: `${setName}-host-${index}`, index, address: hostAddress(subnetIndex, index) };
}

export function hostSetStatus(name: string): HostSetStatus | undefined {
  const layout = hostSetLayout(name);
  const state = readHostSetState(layout);
  if (!state) return undefined;
  const pids = readHostPids(layout);
  return {
    name,
    dir: layout.dir,
    subnet: `${state.bridgeAddress.replace(/\.1$/, '.0')}/24`,
    hosts: state.nodes.map((node) => {
      const host = layout.host(node.name);
      const processes = pids[node.name] ?? {};
      return {
        name: node.name,
        address: node.address,
        sshd: { pid: processes.sshd, alive: alive(processes.sshd, host) },
        dockerd: { pid: processes.dockerd, alive: alive(processes.dockerd, host) },
      };
    }),
  };
}

export function allHostSetStatuses(): HostSetStatus[] {
  return knownHostSetNames()
    .map(hostSetStatus)
    .filter((status): status is HostSetStatus => status !== undefined);
}

export function isHostSet(name: string): boolean {
  return readHostSetState(hostSetLayout(name)) !== undefined;
}

/**
 * What host set `state` left on this machine: mounts under its directory, its `ip netns`
 * entries, interfaces, processes whose command line names its directory, cgroups. Empty after
 * `destroyHosts`; the destroy test checks exactly that.
 */
export async function hostSetLeftovers(state: HostSetState): Promise<string[]> {
  const layout = hostSetLayout(state.name);
  const leftovers: string[] = [];
  for (const entry of ownMountPoints()) if (entry.mountPoint === layout.dir || entry.mountPoint.startsWith(`${layout.dir}/`)) leftovers.push(`mount ${entry.mountPoint}`);
  for (const node of state.nodes) {
    const host = layout.host(node.name);
    if (existsSync(host.netnsPath)) leftovers.push(`netns ${host.netnsName}`);
    for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
      if (existsSync(join('/sys/fs/cgroup', hierarchy, hostCgroupParent(node.name)))) leftovers.push(`cgroup ${hierarchy}/${hostCgroupParent(node.name)}`);
    }
  }
  for (const link of await remainingLinks(state)) leftovers.push(`link ${link}`);
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === process.pid) continue;
    if (isOurProcess(Number(entry), `${layout.dir}/`)) leftovers.push(`process ${entry}`);
  }
  if (existsSync(layout.dir)) leftovers.push(`directory ${layout.dir}`);
  return leftovers;
}
