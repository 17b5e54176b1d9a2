import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { SYSTEM_NAMESPACE } from '../apps/system-apps.js';
import { ClusterUnavailableError, ignoreNotFound } from '../errors.js';
import type { ContainerRef } from '../kube/container-log.js';
import { translateKubeError } from '../kube/kube-errors.js';
import { KubeApiError, type KubeHttp } from '../kube/kube-http.js';

/** How long the shell's pod may take to run (an image pull on a real cluster). */
const POD_RUNNING_WITHIN_MS = 120_000;
const POD_POLL_MS = 250;
/** Marks what a cluster shell made, with the user it was made for. */
export const CLUSTER_SHELL_LABEL = 'zcloud.cn/cluster-shell';
/**
 * On a cluster shell's ServiceAccount: until when its session is known to be open. The session
 * renews it (renewClusterShell); once it has passed, the zcloud that made the shell is gone
 * (killed, or cut off from the cluster) and any zcloud may delete the shell (controllers/cluster-shell-sweeper.ts).
 */
export const CLUSTER_SHELL_LEASE_ANNOTATION = 'zcloud.cn/cluster-shell-lease-until';

/** How long a cluster shell's lease lasts: renewed every third of it while the socket is open. */
export function clusterShellLeaseMs(idleLimitMs: number): number {
  return Math.min(idleLimitMs, 60_000);
}

const leaseUntil = (leaseMs: number): Record<string, string> => ({ [CLUSTER_SHELL_LEASE_ANNOTATION]: new Date(Date.now() + leaseMs).toISOString() });

/** The Kubernetes objects behind one cluster shell; `container` is where the shell runs. */
export interface ClusterShellObjects {
  name: string;
  namespace: string;
  container: ContainerRef;
}

/**
 * Makes a cluster shell's objects in SYSTEM_NAMESPACE: a ServiceAccount, a ClusterRoleBinding of
 * it to `clusterRole` (for admin: cluster-admin), and a pod of `image` running as that account,
 * so `kubectl` in it acts with exactly those rights. Resolves once the pod runs; on any failure
 * what was made is deleted again before the error is thrown. `removeClusterShell` deletes them.
 */
export async function createClusterShell(http: KubeHttp, options: { user: string; clusterRole: string; image: string; leaseMs: number }): Promise<ClusterShellObjects> {
  const name = `zcloud-shell-${randomBytes(4).toString('hex')}`;
  const namespace = SYSTEM_NAMESPACE;
  const labels = { [CLUSTER_SHELL_LABEL]: options.user.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 63) };
  const objects: ClusterShellObjects = { name, namespace, container: { namespace, pod: name, container: 'kubectl' } };
  try {
    await http.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } } }).catch(ignoreConflict);
    // The account first and deleted last: the sweeper finds a shell by it, however far its making or removal got.
    const metadata = { name, namespace, labels, annotations: leaseUntil(options.leaseMs) };
    await http.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts`, { body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata } });
    await http.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      body: {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: options.clusterRole },
        subjects: [{ kind: 'ServiceAccount', name, namespace }],
      },
    });
    await createPod(http, namespace, {
      body: {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, namespace, labels },
        spec: {
          serviceAccountName: name,
          restartPolicy: 'Never',
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'kubectl', image: options.image, command: ['sleep', 'infinity'] }],
        },
      },
    });
    await waitRunning(http, namespace, name);
    return objects;
  } catch (err) {
    await removeClusterShell(http, objects);
    throw translateKubeError(err, `cluster shell ${name}`);
  }
}

/** Moves the shell's lease `leaseMs` ahead (its session is still open). */
export async function renewClusterShell(http: KubeHttp, { name, namespace }: Pick<ClusterShellObjects, 'name' | 'namespace'>, leaseMs: number): Promise<void> {
  await http.request('PATCH', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}`, {
    body: { metadata: { annotations: leaseUntil(leaseMs) } },
    contentType: 'application/merge-patch+json',
  });
}

/** A cluster shell's account as the sweeper reads it: name and lease. */
export interface ClusterShellLease {
  name: string;
  /** Epoch ms; undefined when the account has no (readable) lease. */
  leaseUntil: number | undefined;
}

/** Every cluster shell in the cluster, found by its ServiceAccount. */
export async function listClusterShells(http: KubeHttp, signal?: AbortSignal): Promise<ClusterShellLease[]> {
  const list = await http.request<{ items?: Array<{ metadata?: { name?: string; annotations?: Record<string, string> } }> }>('GET', `/api/v1/namespaces/${SYSTEM_NAMESPACE}/serviceaccounts`, {
    query: { labelSelector: CLUSTER_SHELL_LABEL },
    ...(signal ? { signal } : {}),
  });
  return (list.items ?? []).flatMap(({ metadata }) => {
    if (!metadata?.name) return [];
    const until = Date.parse(metadata.annotations?.[CLUSTER_SHELL_LEASE_ANNOTATION] ?? '');
    return [{ name: metadata.name, leaseUntil: Number.isNaN(until) ? undefined : until }];
  });
}

/** Deletes a cluster shell's pod, binding and account; what is already gone is skipped. */
export async function removeClusterShell(http: KubeHttp, { name, namespace }: Pick<ClusterShellObjects, 'name' | 'namespace'>): Promise<void> {
  const remove = (path: string): Promise<unknown> =>
    http.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0 } }).catch((err: unknown) => ignoreNotFound(translateKubeError(err, `delete ${path}`)));
  await remove(`/api/v1/namespaces/${namespace}/pods/${name}`);
  await remove(`/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${name}`);
  await remove(`/api/v1/namespaces/${namespace}/serviceaccounts/${name}`);
}

/**
 * Creates the pod, retrying while the apiserver says to: up to Kubernetes 1.23 the
 * ServiceAccount admission refuses a pod (ServerTimeout, "retry after the token is
 * automatically created") until the tokens controller has made the new account's secret.
 */
async function createPod(http: KubeHttp, namespace: string, pod: { body: unknown }): Promise<void> {
  const deadline = Date.now() + POD_RUNNING_WITHIN_MS;
  for (;;) {
    try {
      await http.request('POST', `/api/v1/namespaces/${namespace}/pods`, pod);
      return;
    } catch (err) {
      const waitForToken = err instanceof KubeApiError && (err.reason === 'ServerTimeout' || /retry after the token/i.test(err.message));
      if (!waitForToken || Date.now() > deadline) throw err;
      await sleep(POD_POLL_MS);
    }
  }
}

/** The namespace may exist already (zcloud's system apps live there). */
function ignoreConflict(err: unknown): undefined {
  if (err instanceof KubeApiError && err.status === 409) return undefined;
  throw err;
}

async function waitRunning(http: KubeHttp, namespace: string, name: string): Promise<void> {
  const deadline = Date.now() + POD_RUNNING_WITHIN_MS;
  for (;;) {
    const pod = await http.request<{ status?: { phase?: string } }>('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
    const phase = pod.status?.phase;
    if (phase === 'Running') return;
    if (phase === 'Failed' || phase === 'Succeeded') throw new ClusterUnavailableError(`cluster shell pod ${namespace}/${name} ended (${phase}) before the shell opened`);
    if (Date.now() > deadline) throw new ClusterUnavailableError(`cluster shell pod ${namespace}/${name} not running within ${POD_RUNNING_WITHIN_MS / 1000} s (phase ${phase ?? 'unknown'})`);
    await sleep(POD_POLL_MS);
  }
}
