import { existsSync, unlinkSync, writeFileSync } from 'node:fs';
import { exec, run } from './command.js';
import { progress } from './progress.js';

/**
 * Debian packages the test world needs. The first group is what the brief of the test world
 * asks for (etcd, the Go toolchain and the tools the Kubernetes build calls); `make` and
 * `dpkg-dev` (dpkg-source, which `apt-get source` unpacks with) are not in every base image.
 */
export const requiredPackages: readonly string[] = [
  'etcd-server',
  'golang-go',
  'rsync',
  'jq',
  'openssh-server',
  'iproute2',
  'openssl',
  'make',
  'dpkg-dev',
  // Replaces the tree's vendored reflect2 1.0.1, which crashes under Go >= 1.18 (see kube-build.ts).
  'golang-github-modern-go-reflect2-dev',
  // The test world's hosts (scripts/testenv/hosts/): a Docker daemon per host, and busybox as
  // the shell of the images built for them, etcdctl beside etcd in the etcd image.
  // openssh-server and iproute2 are above.
  'docker.io',
  'busybox-static',
  'etcd-client',
  // The private registry of test/provisioning/private-registry.test.ts (Distribution registry 2.8).
  'docker-registry',
  // HAProxy, the local apiserver proxy of non-controlplane hosts.
  'haproxy',
  // The CNI plugins (bridge, host-local, loopback) of the hosts' pod network.
  'containernetworking-plugins',
  // LVM on the test hosts' loop devices (test/storage/*): zcloud runs the hosts' own lvm as root.
  'lvm2',
  // Headless browser of the /docs page test (test/api/docs-page.test.ts); no browser is ever downloaded.
  'chromium',
];

/** The packages among `names` that dpkg does not report as installed. Asks dpkg only, never the network. */
export async function missingPackages(names: readonly string[]): Promise<string[]> {
  // dpkg-query exits 1 when some name is unknown to it but still prints the known ones.
  const { stdout } = await exec('dpkg-query', ['-W', '-f=${Package} ${db:Status-Status}\n', ...names]);
  const installed = new Set(
    stdout
      .split('\n')
      .map((line) => line.split(' '))
      .filter(([, status]) => status === 'installed')
      .map(([name]) => name.split(':')[0]),
  );
  return names.filter((name) => !installed.has(name));
}

const policyPath = '/usr/sbin/policy-rc.d';

/**
 * Installs `names` with apt-get, non-interactively, after one `apt-get update`.
 * Services the packages ship (sshd) must not start: a server here listens on loopback only,
 * and only when a test starts it. When the machine has no policy-rc.d we put Debian's
 * standard "deny" policy in place for the duration of the install and remove it afterwards.
 */
export async function installPackages(names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  progress(`installing Debian packages: ${names.join(' ')}`);
  const ownPolicy = !existsSync(policyPath);
  if (ownPolicy) writeFileSync(policyPath, '#!/bin/sh\n# temporary, from zcloud testenv\nexit 101\n', { mode: 0o755 });
  try {
    await run('apt-get', ['update', '-q'], { env });
    // Keep existing config files without asking: nothing may prompt in CI.
    const dpkgOptions = ['-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
    await run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...dpkgOptions, ...names], { env });
  } catch (err) {
    throw new Error(`install Debian packages ${names.join(', ')}: ${(err as Error).message}`, { cause: err });
  } finally {
    if (ownPolicy) unlinkSync(policyPath);
  }
}
