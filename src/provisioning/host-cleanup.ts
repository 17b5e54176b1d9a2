import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { ETCD_SNAPSHOT_DIR } from './etcd-snapshot.js';
import { HOST_SSL_DIR, KUBE_DIR } from './node-plan.js';
import { CNI_CONF_DIR } from './pod-network.js';
import { DOCKER_CERTS_DIR, KUBELET_DIR, registryHost } from './registries.js';

/**
 * Everything a provisioned cluster leaves in a host's file system, and how DELETE (or a removed
 * node) gives it back. Kept beside what writes it: node-plan (`/etc/kubernetes/…`), registries
 * (`/etc/docker/certs.d/<registry>`, the kubelet's `config.json`), etcd-snapshot (the cluster's
 * snapshots), and what the components write themselves (etcd's data, the kubelet's pods, volumes,
 * dockershim checkpoints and pod logs).
 */
export type HostPathCleanup =
  /** The file or directory goes whole. */
  | { path: string; remove: 'path' }
  /** The directory stays (a host may mount it), emptied; mounts below it unmounted first when asked (the kubelet binds it `shared`). */
  | { path: string; remove: 'contents'; unmountBelow?: boolean }
  /** The entries of the directory whose name matches `name` (a shell pattern of safe characters). */
  | { path: string; remove: 'matching'; name: string }
  /** A directory zcloud may have made for the above, removed only once empty. */
  | { path: string; remove: 'ifEmpty' };

export function zcloudHostPaths(cluster: string, spec: ProvisionedClusterSpec): HostPathCleanup[] {
  return [
    { path: HOST_SSL_DIR, remove: 'path' },
    { path: `${KUBE_DIR}/apiserver-proxy`, remove: 'path' },
    { path: KUBE_DIR, remove: 'ifEmpty' },
    ...spec.privateRegistries.filter((r) => r.cacert.trim() !== '').map((r) => ({ path: `${DOCKER_CERTS_DIR}/${registryHost(r.url)}`, remove: 'path' as const })),
    { path: DOCKER_CERTS_DIR, remove: 'ifEmpty' },
    { path: '/var/lib/etcd', remove: 'contents' },
    // Holds the registry credentials (config.json) too.
    { path: KUBELET_DIR, remove: 'contents', unmountBelow: true },
    { path: '/var/lib/dockershim', remove: 'contents' },
    // The pod network: CNI plugins and configs (zcloud's and the network add-on's), address state.
    { path: '/opt/cni', remove: 'path' },
    { path: `${CNI_CONF_DIR}`, remove: 'path' },
    { path: '/etc/cni', remove: 'ifEmpty' },
    { path: '/var/lib/cni', remove: 'contents' },
    { path: '/var/log/pods', remove: 'path' },
    { path: '/var/log/containers', remove: 'path' },
    // Cluster names are DNS labels: safe in a pattern. `.part`: a snapshot cut short.
    { path: ETCD_SNAPSHOT_DIR, remove: 'matching', name: `${cluster}-*.db*` },
    { path: ETCD_SNAPSHOT_DIR, remove: 'ifEmpty' },
    { path: ETCD_SNAPSHOT_DIR.replace(/\/[^/]+$/, ''), remove: 'ifEmpty' },
  ];
}

/** Where the cleanup container sees the host's file system. */
const HOST_ROOT = '/host';

const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;

/**
 * The binds and the script of the one privileged container that applies `paths`: each emptied
 * directory bound itself (`rshared` when its mounts must be undone on the host), the other paths
 * through their top directory (`/etc`, `/opt`, `/var/log`), which every host has, so the cleanup
 * makes no directory it then leaves behind.
 */
export function hostCleanupCommand(paths: readonly HostPathCleanup[]): { binds: string[]; script: string } {
  const binds = new Set<string>();
  const script: string[] = ['set -e'];
  for (const entry of paths) {
    const inside = `${HOST_ROOT}${entry.path}`;
    if (entry.remove === 'contents') {
      binds.add(`${entry.path}:${inside}${entry.unmountBelow ? ':rshared' : ''}`);
      // Deepest first; lazily, as a pod volume may still be busy for a moment after its container went.
      if (entry.unmountBelow) script.push(`awk '$5 ~ "^${inside}/" {print $5}' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done`);
      script.push(`find ${quote(inside)} -mindepth 1 -maxdepth 1 -exec rm -rf {} +`);
      continue;
    }
    const parts = entry.path.split('/');
    const anchor = parts.slice(0, parts[1] === 'var' ? 3 : 2).join('/');
    binds.add(`${anchor}:${HOST_ROOT}${anchor}`);
    if (entry.remove === 'path') script.push(`rm -rf ${quote(inside)}`);
    else if (entry.remove === 'matching') script.push(`if [ -d ${quote(inside)} ]; then find ${quote(inside)} -mindepth 1 -maxdepth 1 -name ${quote(entry.name)} -exec rm -rf {} +; fi`);
    // A mount point (a host that mounts it) is busy: it stays.
    else script.push(`rmdir ${quote(inside)} 2>/dev/null || true`);
  }
  return { binds: [...binds], script: script.join('\n') };
}
