import { installPackages, missingPackages, requiredPackages } from './debian-packages.js';
import { buildKubeBinaries, cachedKubeBinaries, type KubeBinaries } from './kube-build.js';

/**
 * Makes the machine able to run test clusters: installs missing Debian packages and builds
 * the Kubernetes servers unless they are cached. Idempotent; when nothing is missing it only
 * asks dpkg and reads the cache stamp (well under a second) and prints nothing.
 */
export async function ensure(): Promise<KubeBinaries> {
  await installPackages(await missingPackages(requiredPackages));
  return cachedKubeBinaries() ?? (await buildKubeBinaries());
}
