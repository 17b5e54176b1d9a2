import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson } from '../cluster-layout.js';
import { checkoutTag, testenvRoot } from '../paths.js';

/** The login user sshd lets in on every host unless `hosts --user` says otherwise. */
export const defaultSshUser = 'zcloud';

/** One host of a set: what `hosts.json` publishes plus where it lives on this machine. */
export interface HostNode {
  /** `<set>-host-<i>`, also the host's hostname as its containers report it. */
  name: string;
  /** 1-based position in the set; fixes the address and the interface names. */
  index: number;
  address: string;
}

/** What `hosts` decided when it first created the set; `hosts-state.json`. Kept across down/up. */
export interface HostSetState {
  name: string;
  /** Third octet of the set's /24 in `hostSubnetPrefix` (10.209.<i>.0/24). */
  subnetIndex: number;
  bridgeAddress: string;
  sshUser: string;
  uid: number;
  gid: number;
  nodes: HostNode[];
  createdAt: string;
}

/** `hosts.json`: the interface the provisioning tests and outside checks read. */
export interface HostsFile {
  sshUser: string;
  /** The login user's private key, PEM. */
  sshKey: string;
  /** The Docker socket's path on each host (forward a unix socket to it over SSH). */
  dockerSocket: string;
  nodes: { name: string; address: string; sshPort: number }[];
}

/** The daemons of one host, by pid; `hosts-pids.json` maps node names to these. */
export interface HostProcesses {
  sshd?: number;
  dockerd?: number;
}
export type HostPidTable = Record<string, HostProcesses>;

/** Where everything of host set `name` lives, under `<repo>/.testenv/<name>/`. */
export interface HostSetLayout {
  name: string;
  dir: string;
  statePath: string;
  pidsPath: string;
  hostsJsonPath: string;
  /** The login key pair (`id_rsa`, `id_rsa.pub`), generated once per set. */
  userKeyPath: string;
  /** Made a private bind mount of itself so persistent mount-namespace files can live in it. */
  namespacesDir: string;
  logsDir: string;
  host(node: string): HostLayout;
}

/** One host's files. Every path a daemon of the host is given starts with `dir`, which is how `down` recognises them. */
export interface HostLayout {
  dir: string;
  /** Persistent mount namespace (a bind-mounted nsfs file). */
  mountNamespacePath: string;
  /** The named network namespace, `ip netns` style. */
  netnsName: string;
  netnsPath: string;
  /** Bind-mounted over these paths inside the host (see `hostMounts`). */
  runDir: string;
  homeDir: string;
  etcDir: string;
  sshDir: string;
  dockerDataRoot: string;
  dockerConfigPath: string;
  /** The host's `/var/run/docker.sock`, as seen from this machine's own mount namespace. */
  dockerSocketOutside: string;
  sshdLogPath: string;
  dockerdLogPath: string;
}

/** DNS-label-like like cluster names, but short: it prefixes interface and namespace names. */
const namePattern = /^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$/;

export function hostSetLayout(name: string): HostSetLayout {
  if (!namePattern.test(name)) {
    throw new Error(`invalid host set name ${JSON.stringify(name)}: use 1-20 lowercase letters, digits and '-'`);
  }
  const dir = join(testenvRoot, name);
  const logsDir = join(dir, 'logs');
  const namespacesDir = join(dir, 'ns');
  return {
    name,
    dir,
    statePath: join(dir, 'hosts-state.json'),
    pidsPath: join(dir, 'hosts-pids.json'),
    hostsJsonPath: join(dir, 'hosts.json'),
    userKeyPath: join(dir, 'ssh', 'id_rsa'),
    namespacesDir,
    logsDir,
    host(node: string): HostLayout {
      const hostDir = join(dir, 'hosts', node);
      const runDir = join(hostDir, 'run');
      return {
        dir: hostDir,
        mountNamespacePath: join(namespacesDir, `${node}.mnt`),
        netnsName: `zc${checkoutTag}-${node}`,
        netnsPath: `/run/netns/zc${checkoutTag}-${node}`,
        runDir,
        homeDir: join(hostDir, 'home'),
        etcDir: join(hostDir, 'etc'),
        sshDir: join(hostDir, 'ssh'),
        dockerDataRoot: join(hostDir, 'docker'),
        dockerConfigPath: join(hostDir, 'docker-daemon.json'),
        dockerSocketOutside: join(runDir, 'docker.sock'),
        sshdLogPath: join(logsDir, `${node}-sshd.log`),
        dockerdLogPath: join(logsDir, `${node}-dockerd.log`),
      };
    },
  };
}

/** Names of every host set with a state file under `.testenv/`. */
export function knownHostSetNames(): string[] {
  if (!existsSync(testenvRoot)) return [];
  return readdirSync(testenvRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && namePattern.test(entry.name))
    .filter((entry) => existsSync(join(testenvRoot, entry.name, 'hosts-state.json')))
    .map((entry) => entry.name)
    .sort();
}

export function readHostSetState(layout: HostSetLayout): HostSetState | undefined {
  return readJson<HostSetState>(layout.statePath);
}

export function readHostPids(layout: HostSetLayout): HostPidTable {
  return readJson<HostPidTable>(layout.pidsPath) ?? {};
}
