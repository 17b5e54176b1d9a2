import { randomBytes } from 'node:crypto';
import type Docker from 'dockerode';
import { runOnce, type DockerCallOptions } from '../provisioning/containers.js';
import { imageReference } from '../provisioning/images.js';

/**
 * Runs `argv` as root on the host itself, through its Docker (which the SSH user may use, as
 * provisioning requires): a throwaway privileged container of the base image with the host's
 * root bind-mounted at /host, chrooted there. So the host's own tools (lsblk, blkid, lvm2, mkfs)
 * run against the host's devices, /etc and /run, and nothing needs installing in an image or a
 * password for sudo. Each call gets a container name of its own, so a discovery and a storage
 * cluster's preparation may run on one host at once. Output is stdout and stderr together.
 */
export function runAsRoot(docker: Docker, argv: readonly string[], options: DockerCallOptions, sharedDirs: readonly string[] = []): Promise<string> {
  const name = `zcloud-storage-${options.cluster}-${randomBytes(4).toString('hex')}`;
  // A mount made in the container reaches the host only through a bind with shared propagation
  // (the `/` bind is private); `sharedDirs` must be shared mounts on the host.
  const binds = ['/:/host', ...sharedDirs.map((dir) => `${dir}:/host${dir}:rshared`)];
  return runOnce(docker, imageReference('base'), ['chroot', '/host', ...argv], options, { binds, privileged: true, name });
}
