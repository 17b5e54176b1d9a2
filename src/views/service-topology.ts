import type { KubeObject } from '../kube/kube-object.js';
import type { IngressBackend, IngressObject, PodObject, ServiceObject } from '../kube/objects.js';
import { podDisplayStatus } from '../kube/pod-status.js';
import { byKey, type StoreReader } from './view-sources.js';
import { workloadOf, type WorkloadRef } from './workloads.js';




export interface PodView {
  name: string;
  state: string;
}

export interface WorkloadView extends WorkloadRef {
  pods: PodView[];
}

/** A service and what serves it: the innerservice shape (also the value of outerservice paths). */
export interface ServiceView {
  name: string;
  workloads: WorkloadView[];
}

export type EntryPoint = `http://${string}` | `tcp:${string}` | `udp:${string}`;

/** One way into the namespace from outside: a host (by path) or a TCP/UDP port of the ingress controller. */
export interface OuterServiceView {
  entryPoint: EntryPoint;
  /** By path for http; by target service port for tcp/udp. */
  services: Record<string, ServiceView>;
}

/**
 * Where the ingress controller (ingress-nginx) keeps its TCP and UDP forwards: ConfigMaps whose
 * keys are the exposed ports and values `<namespace>/<service>:<port>[:PROXY...]`.
 */
export const STREAM_CONFIGMAPS = {
  namespace: 'ingress-nginx',
  tcp: 'tcp-services',
  udp: 'udp-services',
} as const;

/** Rules without a host match every host. */
const ANY_HOST = '*';
const DEFAULT_PATH = '/';

/** Kubernetes selects nothing with an empty or absent service selector (endpoints are managed by hand). */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  const entries = Object.entries(selector ?? {});
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => labels?.[key] === value);
}

/** The innerservice shape of service `name`: its selected pods grouped by workload, sorted. */
export function serviceView(read: StoreReader, namespace: string, name: string): ServiceView {
  const service = read<ServiceObject>('services').get(namespace, name);
  const selector = service?.spec?.selector;
  const workloads = new Map<string, WorkloadView>();
  if (service) {
    const replicasets = read('replicasets');
    const jobs = read('jobs');
    for (const pod of read<PodObject>('pods').listNamespace(namespace)) {
      if (!selects(selector, pod.metadata.labels)) continue;
      const ref = workloadOf(pod, replicasets, jobs);
      const key = `${ref.kind}/${ref.name}`;
      let workload = workloads.get(key);
      if (!workload) workloads.set(key, (workload = { ...ref, pods: [] }));
      workload.pods.push({ name: pod.metadata.name, state: podDisplayStatus(pod) });
    }
  }
  // Array sort is stable: by kind, then by name, gives name order with kind breaking ties.
  const sorted = [...workloads.values()].sort(byKey((w) => w.kind)).sort(byKey((w) => w.name));
  for (const workload of sorted) workload.pods.sort(byKey((p) => p.name));
  return { name, workloads: sorted };
}

function backendService(backend: IngressBackend | undefined): string | undefined {
  return backend?.service?.name ?? backend?.serviceName;
}

/** `<namespace>/<service>:<port>[:options]` → its parts; undefined when it is not that shape. */
export function parseStreamTarget(value: string): { namespace: string; service: string; port: string } | undefined {
  const match = /^([^/\s]+)\/([^:\s]+):([^:\s]+)/.exec(value.trim());
  return match ? { namespace: match[1], service: match[2], port: match[3] } : undefined;
}

/** Each entry point of `namespace` and the service name behind each of its paths/ports. */
export function entryPointsOf(read: StoreReader, namespace: string): Map<EntryPoint, Map<string, string>> {
  const entries = new Map<EntryPoint, Map<string, string>>();
  const add = (entryPoint: EntryPoint, key: string, service: string): void => {
    let services = entries.get(entryPoint);
    if (!services) entries.set(entryPoint, (services = new Map()));
    // Two ingresses claiming one host and path: the first (by name) wins, as ingress-nginx does by age.
    if (!services.has(key)) services.set(key, service);
  };
  const ingresses = read<IngressObject>('ingresses').listNamespace(namespace).sort(byKey((i) => i.metadata.name));
  for (const ingress of ingresses) {
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const service = backendService(path.backend);
        if (service) add(`http://${rule.host ?? ANY_HOST}`, path.path ?? DEFAULT_PATH, service);
      }
    }
  }
  // The default backend answers whatever no rule matches: last, so rules keep their paths.
  for (const ingress of ingresses) {
    const service = backendService(ingress.spec?.defaultBackend ?? ingress.spec?.backend);
    if (service) add(`http://${ANY_HOST}`, DEFAULT_PATH, service);
  }
  const configmaps = read<KubeObject & { data?: Record<string, string> }>('configmaps');
  for (const protocol of ['tcp', 'udp'] as const) {
    const data = configmaps.get(STREAM_CONFIGMAPS.namespace, STREAM_CONFIGMAPS[protocol])?.data ?? {};
    for (const [port, value] of Object.entries(data)) {
      const target = parseStreamTarget(value);
      if (target?.namespace === namespace) add(`${protocol}:${port}`, target.port, target.service);
    }
  }
  return entries;
}

/** Names of the services of `namespace` some entry point leads to. */
export function exposedServices(read: StoreReader, namespace: string): Set<string> {
  const names = new Set<string>();
  for (const services of entryPointsOf(read, namespace).values()) for (const name of services.values()) names.add(name);
  return names;
}

/** Services of `namespace` no ingress rule nor TCP/UDP forward leads to, sorted by name. */
export function innerServices(read: StoreReader, namespace: string): ServiceView[] {
  const exposed = exposedServices(read, namespace);
  return read('services')
    .listNamespace(namespace)
    .map((s) => s.metadata.name)
    .filter((name) => !exposed.has(name))
    .sort()
    .map((name) => serviceView(read, namespace, name));
}

/** One entry per entry point of `namespace`, sorted by entry point; paths keep ascending order. */
export function outerServices(read: StoreReader, namespace: string): OuterServiceView[] {
  return [...entryPointsOf(read, namespace)]
    .sort(byKey(([entryPoint]) => entryPoint))
    .map(([entryPoint, services]) => ({
      entryPoint,
      services: Object.fromEntries(
        [...services].sort(byKey(([key]) => key)).map(([key, name]) => [key, serviceView(read, namespace, name)]),
      ),
    }));
}

/** A stable id for an entry point usable in a URL: `http-<host>`, `tcp-<port>`, `udp-<port>`. */
export function entryPointId(entryPoint: EntryPoint): string {
  return entryPoint.replace(/^http:\/\//, 'http-').replace(/^(tcp|udp):/, '$1-');
}
