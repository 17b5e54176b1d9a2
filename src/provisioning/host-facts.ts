import type Docker from 'dockerode';
import { runOnce, type DockerCallOptions } from './containers.js';
import { withDeadline } from './deadline.js';
import { imageReference } from './images.js';

/** What the kubelet must agree with the host's Docker about; observed, never assumed. */
export interface HostFacts {
  dockerVersion: string;
  /** Docker's data root: the kubelet's cAdvisor reads it and dockershim writes sandboxes' resolv.conf there. */
  dockerRootDir: string;
  cgroupDriver: string;
  /**
   * The cgroup dockerd puts containers under when it was given one (`--cgroup-parent`), which
   * must then be the kubelet's `--cgroup-root`; undefined for Docker's default (`/docker`).
   */
  cgroupParent: string | undefined;
}

export async function observeHostFacts(docker: Docker, options: DockerCallOptions): Promise<HostFacts> {
  const info = (await withDeadline(`docker info on ${options.host}`, docker.info(), options.timeoutMs, options.signal)) as { ServerVersion: string; DockerRootDir: string; CgroupDriver: string };
  const cgroups = await runOnce(docker, imageReference('base'), ['cat', '/proc/self/cgroup'], options);
  return { dockerVersion: info.ServerVersion, dockerRootDir: info.DockerRootDir, cgroupDriver: info.CgroupDriver, cgroupParent: cgroupParentOf(cgroups) };
}

/**
 * The parent of a container's own cgroup, from its /proc/self/cgroup (v1 `N:memory:/parent/<id>`
 * or v2 `0::/parent/<id>`); undefined for Docker's default parent or a private cgroup namespace.
 */
export function cgroupParentOf(procSelfCgroup: string): string | undefined {
  const lines = procSelfCgroup.split(/\r?\n/).filter(Boolean);
  const line = lines.find((l) => l.split(':')[1] === 'memory') ?? lines.find((l) => l.startsWith('0::'));
  const cgroupPath = line?.split(':').slice(2).join(':');
  if (!cgroupPath) return undefined;
  const parent = cgroupPath.replace(/\/[^/]*$/, '');
  if (parent === '' || parent === '/docker' || parent === '/system.slice') return undefined;
  return parent;
}
