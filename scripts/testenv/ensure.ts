import { installPackages, missingPackages, requiredPackages } from './debian-packages.js';
import { ensureHostMountPoints } from './hosts/host-set.js';
import { buildHostImages } from './hosts/images.js';
import { buildKubeBinaries, buildKubeNodeBinaries, cachedKubeBinaries, cachedKubeNodeBinaries, type KubeBinaries } from './kube-build.js';

/**
 * Makes the machine able to run test clusters and host sets: installs missing Debian packages,
 * builds the Kubernetes servers and the node components (kubelet, kube-proxy) unless they are
 * cached, and builds the hosts' images unless cached. Idempotent; when nothing is missing it
 * only asks dpkg, reads the cache stamps and hashes (well under a second) and prints nothing.
 */
export async function ensure(): Promise<KubeBinaries> {
  await installPackages(await missingPackages(requiredPackages));
  const servers = cachedKubeBinaries() ?? (await buildKubeBinaries());
  if (!cachedKubeNodeBinaries()) await buildKubeNodeBinaries();
  ensureHostMountPoints();
  await buildHostImages();
  return servers;
}
