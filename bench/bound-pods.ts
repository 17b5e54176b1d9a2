import { readFileSync } from 'node:fs';
import { destroy, stopComponent, up } from '../scripts/testenv/cluster.js';
import { ensure } from '../scripts/testenv/ensure.js';
import { KubeHttp } from '../src/kube/kube-http.js';

/** Pod IPs come from a /24 per simulated node, so a node takes at most this many. */
export const PODS_PER_NODE = 200;

/** Simulated nodes for `pods` pods: node 1 is the control plane, the rest take the pods. */
export function nodesFor(pods: number): number {
  return Math.max(2, Math.ceil(pods / PODS_PER_NODE) + 1);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Test-world cluster `name` brought up anew with `nodes` simulated nodes: its kubeconfig and a client. */
export async function freshBenchCluster(name: string, nodes: number): Promise<{ kubeconfig: string; kube: KubeHttp }> {
  await ensure();
  await destroy(name);
  const info = await up(name, { nodes });
  const kubeconfig = readFileSync(info.kubeconfigPath, 'utf8');
  return { kubeconfig, kube: KubeHttp.fromYaml(kubeconfig) };
}

/**
 * Creates `count` pods in `namespace` (32 at a time), pod i from `podOf(i)` and bound to worker
 * node `<cluster>-node-<2 + i mod (nodes - 1)>`, so the simulated kubelets run them without
 * the scheduler; then waits until all of them are Running. Resolves the seconds each part took.
 */
export async function createRunningPods(
  kube: KubeHttp,
  options: { cluster: string; namespace: string; nodes: number; count: number; podOf: (i: number) => { metadata: object; spec: object } },
): Promise<{ createSeconds: number; runningSeconds: number }> {
  const { cluster, namespace, nodes, count, podOf } = options;
  const started = Date.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const pod = podOf(i);
      await kube.request('POST', `/api/v1/namespaces/${namespace}/pods`, {
        body: { apiVersion: 'v1', kind: 'Pod', metadata: pod.metadata, spec: { ...pod.spec, nodeName: `${cluster}-node-${2 + (i % (nodes - 1))}` } },
      });
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const created = Date.now();
  for (;;) {
    const pods = await kube.request<{ items: Array<{ status?: { phase?: string } }> }>('GET', `/api/v1/namespaces/${namespace}/pods`, {
      query: { resourceVersion: '0' },
      timeoutMs: 120_000,
    });
    const running = pods.items.filter((p) => p.status?.phase === 'Running').length;
    if (running === count) break;
    if (Date.now() - created > 20 * 60_000) throw new Error(`only ${running} of ${count} pods Running after 20 minutes`);
    await sleep(3000);
  }
  return { createSeconds: (created - started) / 1000, runningSeconds: (Date.now() - created) / 1000 };
}

/**
 * Stops kube-controller-manager (so nothing but the bench adds or removes pods) once it has
 * given `namespace` its default service account and that account's token: pods are refused
 * without them.
 */
export async function stopControllersWhenNamespaceReady(kube: KubeHttp, cluster: string, namespace: string): Promise<void> {
  for (let i = 0; ; i++) {
    const account = await kube
      .request<{ secrets?: unknown[] }>('GET', `/api/v1/namespaces/${namespace}/serviceaccounts/default`)
      .catch(() => undefined);
    if ((account?.secrets?.length ?? 0) > 0) break;
    if (i > 300) throw new Error(`no default service account token in ${namespace} after 60 s`);
    await sleep(200);
  }
  await stopComponent(cluster, 'kube-controller-manager');
}
