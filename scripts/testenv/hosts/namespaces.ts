import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { run } from '../command.js';
import type { HostLayout, HostSetLayout } from './layout.js';

/** A path of this machine bind-mounted over a path inside one host's mount namespace. */
export interface BindMount {
  source: string;
  target: string;
  /**
   * 'shared' makes the mount a shared one inside the host (a peer group of its own, never
   * joined with this machine's mounts), so a container bind-mounting it with `:shared`, the
   * kubelet, can mount volumes there that dockerd and later containers see.
   */
  propagation?: 'shared';
}

/** Decodes the octal escapes mountinfo uses for spaces, tabs, newlines and backslashes. */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export interface MountEntry {
  mountPoint: string;
  fsType: string;
}

/** The mounts of a mount namespace, from a mountinfo text (fields per proc(5)). */
export function parseMountInfo(text: string): MountEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = line.split(' ');
      const separator = fields.indexOf('-');
      return { mountPoint: unescapeMountPath(fields[4] ?? ''), fsType: fields[separator + 1] ?? '' };
    });
}

/** The mount points of this process's own mount namespace. */
export function ownMountPoints(): MountEntry[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}

function isMountPoint(path: string): boolean {
  return ownMountPoints().some((entry) => entry.mountPoint === path);
}

/**
 * The set's namespace directory becomes a private bind mount of itself: a mount-namespace file
 * can only be bind-mounted where the mount would not propagate into that very namespace
 * (unshare(1), "--mount=file").
 */
export async function ensurePrivateNamespacesDir(layout: HostSetLayout): Promise<void> {
  mkdirSync(layout.namespacesDir, { recursive: true });
  if (isMountPoint(layout.namespacesDir)) return;
  await run('mount', ['--bind', layout.namespacesDir, layout.namespacesDir]);
  await run('mount', ['--make-private', layout.namespacesDir]);
}

/** nsenter arguments that put a command inside the host: its network, mount and UTS namespaces. */
export function enterHost(host: HostLayout): string[] {
  return [`--net=${host.netnsPath}`, `--mount=${host.mountNamespacePath}`, `--uts=${utsNamespacePath(host)}`, '--'];
}

function utsNamespacePath(host: HostLayout): string {
  return host.mountNamespacePath.replace(/\.mnt$/, '.uts');
}

/**
 * Creates the host's persistent mount and UTS namespaces (nsfs files bind-mounted in the set's
 * namespace directory), unless they exist, and puts `mounts` in place inside. Mount propagation
 * is private both ways: nothing mounted inside a host (dockerd's overlays, these binds) shows
 * up on this machine, and nothing mounted here later shows up inside.
 */
export async function ensureHostNamespaces(host: HostLayout, hostname: string, mounts: readonly BindMount[]): Promise<void> {
  const uts = utsNamespacePath(host);
  if (isMountPoint(host.mountNamespacePath) && isMountPoint(uts)) return;
  for (const path of [host.mountNamespacePath, uts]) {
    if (isMountPoint(path)) await run('umount', [path]);
    if (!existsSync(path)) closeSync(openSync(path, 'w'));
  }
  await run('unshare', [`--mount=${host.mountNamespacePath}`, `--uts=${uts}`, '--propagation', 'private', 'true']);
  const inside = (command: string, args: string[]): Promise<string> =>
    run('nsenter', [`--mount=${host.mountNamespacePath}`, `--uts=${uts}`, '--', command, ...args]);
  // The new namespace started as a copy of ours, with every namespace file bind-mounted here
  // (other hosts' mount namespaces, `ip netns` files). Left in place, those copies would keep
  // the other hosts' namespaces and veths alive after they are destroyed.
  const nsfsMounts = parseMountInfo(await inside('cat', ['/proc/self/mountinfo']))
    .filter((entry) => entry.fsType === 'nsfs')
    .map((entry) => entry.mountPoint);
  if (nsfsMounts.length) await inside('umount', ['--lazy', ...nsfsMounts]);
  for (const mount of mounts) {
    await inside('mount', ['--bind', mount.source, mount.target]);
    if (mount.propagation === 'shared') await inside('mount', ['--make-shared', mount.target]);
  }
  await inside('hostname', [hostname]);
}

/** Releases the host's namespace files; the namespaces go away once no process is inside. */
export async function removeHostNamespaces(host: HostLayout): Promise<void> {
  for (const path of [host.mountNamespacePath, utsNamespacePath(host)]) {
    if (isMountPoint(path)) await run('umount', [path]);
  }
}

export async function removeNamespacesDir(layout: HostSetLayout): Promise<void> {
  if (isMountPoint(layout.namespacesDir)) await run('umount', [layout.namespacesDir]);
}

/**
 * Pids of every process inside the host: in its network or its mount namespace. Namespaces are
 * compared by inode (`/proc/<pid>/ns/*` against the bind-mounted files). A process that exits
 * while we look is skipped.
 */
export function processesInsideHost(host: HostLayout): number[] {
  const inodes = [host.netnsPath, host.mountNamespacePath]
    .filter((path) => isMountPoint(path) || path === host.netnsPath)
    .map((path) => inodeOf(path))
    .filter((inode): inode is number => inode !== undefined);
  if (inodes.length === 0) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const netInode = inodeOf(`/proc/${entry}/ns/net`);
    const mountInode = inodeOf(`/proc/${entry}/ns/mnt`);
    if ((netInode !== undefined && inodes.includes(netInode)) || (mountInode !== undefined && inodes.includes(mountInode))) {
      pids.push(Number(entry));
    }
  }
  return pids;
}

/**
 * The inode of `path`, or undefined when it does not exist (a process that just exited) or is
 * not ours to look at (EACCES: a process of the sandbox around us, never inside a host).
 */
function inodeOf(path: string): number | undefined {
  try {
    return statSync(path).ino;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'EACCES' || code === 'EPERM') return undefined;
    throw err;
  }
}
