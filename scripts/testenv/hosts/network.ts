import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exec, run } from '../command.js';
import type { HostLayout, HostNode, HostSetState } from './layout.js';

/**
 * Host sets live in 10.209.<i>.0/24, one /24 per set on its own bridge. The root namespace does
 * not forward between interfaces, and inside a host the default route is on-link (no gateway):
 * a packet for any address off the bridge finds no neighbour and goes nowhere. Nothing here
 * ever leaves the machine.
 */
export const hostSubnetPrefix = '10.209';
/** Hosts get .11, .12, ...; .1 is the bridge (this machine's side). */
const firstHostOctet = 11;
export const maxHostsPerSet = 200;

export function bridgeName(subnetIndex: number): string {
  return `zcbr${subnetIndex}`;
}

/** The root-namespace end of a host's veth pair; ≤ 15 characters as Linux requires. */
export function vethName(subnetIndex: number, hostIndex: number): string {
  return `zcv${subnetIndex}h${hostIndex}`;
}

export function hostAddress(subnetIndex: number, hostIndex: number): string {
  return `${hostSubnetPrefix}.${subnetIndex}.${firstHostOctet + hostIndex - 1}`;
}

export function bridgeAddress(subnetIndex: number): string {
  return `${hostSubnetPrefix}.${subnetIndex}.1`;
}

/**
 * Subnet claims shared by every checkout on the machine: one file per claimed /24 index naming
 * the state file that owns it. A checkout's own `.testenv` cannot see another checkout's host
 * sets (a CI clone beside a working copy), and a set that is down has no bridge to see either.
 * /run is emptied at boot, when no host set runs anyway; a set coming up again re-claims its index.
 */
const claimsDir = '/run/zcloud-testenv/subnets';
const claimsLock = '/run/zcloud-testenv/subnets.lock';
/** A lock older than this was left by a process that died holding it. */
const staleLockMs = 30_000;

/**
 * The set's /24 index, claimed machine-wide: `current` when it is free or already ours,
 * otherwise the lowest index nobody claims, no other set of this checkout uses and no address
 * or route of this machine overlaps (someone else's 10.209.x network), so a set never shadows one.
 */
export async function claimSubnetIndex(owner: string, current: number | undefined, takenBySets: ReadonlySet<number>): Promise<number> {
  return withClaimsLock(async () => {
    if (current !== undefined && tryClaim(current, owner)) return current;
    const inUse = `${await run('ip', ['-4', '-o', 'addr'])}\n${await run('ip', ['-4', 'route'])}`;
    for (let index = 1; index < 255; index++) {
      if (takenBySets.has(index)) continue;
      if (inUse.includes(`${hostSubnetPrefix}.${index}.`) || inUse.includes(`${hostSubnetPrefix}.0.0/16`)) continue;
      if (tryClaim(index, owner)) return index;
    }
    throw new Error(`no free /24 left in ${hostSubnetPrefix}.0.0/16 for another host set`);
  });
}

/** Gives the index back, if `owner` holds it. */
export async function releaseSubnetIndex(index: number, owner: string): Promise<void> {
  await withClaimsLock(async () => {
    if (claimOwner(index) === owner) rmSync(join(claimsDir, String(index)), { force: true });
  });
}

function claimOwner(index: number): string | undefined {
  try {
    return readFileSync(join(claimsDir, String(index)), 'utf8');
  } catch {
    return undefined;
  }
}

/** Claims `index` for `owner` unless a live set holds it; a claim whose owner's state file is gone or names another index is stale. */
function tryClaim(index: number, owner: string): boolean {
  const holder = claimOwner(index);
  if (holder === owner) return true;
  if (holder !== undefined && (claimIsFresh(index) || ownerStillHolds(holder, index))) return false;
  writeFileSync(join(claimsDir, String(index)), owner);
  return true;
}

/** The owner of a fresh claim may not have written its state file yet. */
function claimIsFresh(index: number): boolean {
  return Date.now() - (statSafe(join(claimsDir, String(index)))?.mtimeMs ?? 0) < staleLockMs;
}

function ownerStillHolds(statePath: string, index: number): boolean {
  try {
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { subnetIndex?: unknown };
    return state.subnetIndex === index;
  } catch {
    return false;
  }
}

async function withClaimsLock<T>(work: () => Promise<T>): Promise<T> {
  mkdirSync(claimsDir, { recursive: true });
  for (;;) {
    try {
      mkdirSync(claimsLock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = Date.now() - (statSafe(claimsLock)?.mtimeMs ?? Date.now());
      if (age > staleLockMs) rmSync(claimsLock, { recursive: true, force: true });
      else await sleep(50);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(claimsLock, { recursive: true, force: true });
  }
}

function statSafe(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

async function linkExists(name: string): Promise<boolean> {
  return (await exec('ip', ['link', 'show', 'dev', name])).exitCode === 0;
}

/** Creates the set's bridge with this machine's address on it, unless it exists. */
export async function ensureBridge(state: HostSetState): Promise<void> {
  const bridge = bridgeName(state.subnetIndex);
  if (!(await linkExists(bridge))) {
    await run('ip', ['link', 'add', bridge, 'type', 'bridge']);
    await run('ip', ['addr', 'add', `${state.bridgeAddress}/24`, 'dev', bridge]);
  }
  await run('ip', ['link', 'set', bridge, 'up']);
}

/**
 * Creates the host's network namespace and its veth pair (`eth0` inside, with the host's
 * address, on the bridge outside), unless they exist.
 */
export async function ensureHostNetwork(state: HostSetState, node: HostNode, host: HostLayout): Promise<void> {
  if (!existsSync(host.netnsPath)) await run('ip', ['netns', 'add', host.netnsName]);
  const veth = vethName(state.subnetIndex, node.index);
  if (!(await linkExists(veth))) {
    await run('ip', ['link', 'add', veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.netnsName]);
    await run('ip', ['-n', host.netnsName, 'addr', 'add', `${node.address}/24`, 'dev', 'eth0']);
  }
  await run('ip', ['link', 'set', veth, 'master', bridgeName(state.subnetIndex), 'up']);
  await run('ip', ['-n', host.netnsName, 'link', 'set', 'lo', 'up']);
  await run('ip', ['-n', host.netnsName, 'link', 'set', 'eth0', 'up']);
  // A default route gives the kubelet its node IP the usual way; on-link, so it reaches nothing new.
  await run('ip', ['-n', host.netnsName, 'route', 'replace', 'default', 'dev', 'eth0']);
}

/** Deletes the host's namespace (its veth pair goes with it once nothing runs inside). */
export async function removeHostNetwork(state: HostSetState, node: HostNode, host: HostLayout): Promise<void> {
  if (existsSync(host.netnsPath)) await run('ip', ['netns', 'delete', host.netnsName]);
  const veth = vethName(state.subnetIndex, node.index);
  // Deleting the namespace destroys the pair asynchronously: the link may vanish under us.
  if ((await linkExists(veth)) && (await exec('ip', ['link', 'delete', veth])).exitCode !== 0 && (await linkExists(veth))) {
    throw new Error(`cannot delete interface ${veth}`);
  }
}

export async function removeBridge(state: HostSetState): Promise<void> {
  const bridge = bridgeName(state.subnetIndex);
  if (await linkExists(bridge)) await run('ip', ['link', 'delete', bridge]);
}

/** Names of this set's interfaces still present in the root namespace (for leak checks). */
export async function remainingLinks(state: HostSetState): Promise<string[]> {
  const names = [bridgeName(state.subnetIndex), ...state.nodes.map((node) => vethName(state.subnetIndex, node.index))];
  const present: string[] = [];
  for (const name of names) if (await linkExists(name)) present.push(name);
  return present;
}
