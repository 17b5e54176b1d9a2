import type Docker from 'dockerode';
import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import type { DockerCallOptions, HostFile } from './containers.js';
import { withDeadline } from './deadline.js';

/**
 * Private registries of a provisioned cluster (`privateRegistries[{url, user, password, cacert}]`,
 * ZKE's private_registries): the Docker daemon of each host trusts the registry's CA
 * (`/etc/docker/certs.d/<host:port>/ca.crt`), images missing on a host are pulled with the
 * credentials of the registry they name, and the kubelet gets the same credentials
 * (`/var/lib/kubelet/config.json`, mode 0600, which its Docker keyring reads) so pods can pull.
 * Passwords are sealed in the stored spec (ClusterPkiStore.sealRegistryPasswords) and opened
 * only here, for the pull's auth and the kubelet's file; never in a log line, a command line or
 * a container's environment.
 */

export const DOCKER_CERTS_DIR = '/etc/docker/certs.d';
export const KUBELET_DIR = '/var/lib/kubelet';

export type PrivateRegistry = ProvisionedClusterSpec['privateRegistries'][number];

/** `https://reg.example:5000/` → `reg.example:5000`: how Docker names a registry. */
export function registryHost(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
}

/** The registry an image reference names: its first path part when it looks like a host (a dot, a port or `localhost`). */
export function registryOfImage(reference: string): string | undefined {
  const first = reference.split('/')[0]!;
  return reference.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : undefined;
}

/** The files the host's Docker (CAs) and kubelet (credentials) need; `password` opens a registry's sealed password. */
export function registryHostFiles(registries: readonly PrivateRegistry[], password: (registry: PrivateRegistry) => string): { dockerCerts: HostFile[]; kubelet: HostFile[] } {
  const dockerCerts = registries
    .filter((r) => r.cacert.trim() !== '')
    .map((r) => ({ path: `${DOCKER_CERTS_DIR}/${registryHost(r.url)}/ca.crt`, content: r.cacert, mode: 0o644 }));
  const withCredentials = registries.filter((r) => r.user !== '');
  const auths = Object.fromEntries(withCredentials.map((r) => [registryHost(r.url), { auth: Buffer.from(`${r.user}:${password(r)}`).toString('base64') }]));
  const kubelet = withCredentials.length > 0 ? [{ path: `${KUBELET_DIR}/config.json`, content: `${JSON.stringify({ auths }, null, 2)}\n`, mode: 0o600 }] : [];
  return { dockerCerts, kubelet };
}

/**
 * Makes `reference` present on the host: nothing when it is there, else a pull, with the
 * credentials of the private registry it names (if any). Returns what was done.
 */
export async function ensureImage(
  docker: Docker,
  reference: string,
  registries: readonly PrivateRegistry[],
  password: (registry: PrivateRegistry) => string,
  options: DockerCallOptions,
): Promise<'present' | 'pulled'> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  try {
    await call(`inspect image ${reference}`, docker.getImage(reference).inspect());
    return 'present';
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 404) throw err;
  }
  const host = registryOfImage(reference);
  const registry = host === undefined ? undefined : registries.find((r) => registryHost(r.url) === host);
  const authconfig = registry && registry.user !== '' ? { username: registry.user, password: password(registry), serveraddress: host } : undefined;
  try {
    const stream = await call(`pull ${reference}`, docker.pull(reference, authconfig ? { authconfig } : {}));
    await call(
      `pull ${reference}`,
      new Promise<void>((resolve, reject) =>
        docker.modem.followProgress(stream, (error: Error | null, events: Array<{ error?: string }>) => {
          const failed = error?.message ?? events.find((e) => e.error)?.error;
          if (failed) reject(new Error(failed));
          else resolve();
        }),
      ),
    );
  } catch (err) {
    const through = registry ? ` from private registry ${registryHost(registry.url)}${authconfig ? ` as ${registry.user}` : ''}` : '';
    throw new Error(`image ${reference} is not on ${options.host} and could not be pulled${through}: ${(err as Error).message}`, { cause: err });
  }
  return 'pulled';
}
