import { z } from 'zod';
import type { ClusterRuntime } from '../../src/clusters/cluster-manager.js';
import { ConflictError, NotFoundError } from '../../src/errors.js';
import { UDP_SERVICES, updateUdpServices } from '../../src/ingress/udp-services.js';
import type { ConfigMapObject } from '../../src/kube/objects.js';
import { clusterOf, readCache } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { PortNumberSchema, requireServicePort, ServiceNameSchema } from './shared/service-reference.js';

const CreateUdpIngress = z.object({
  port: PortNumberSchema,
  serviceName: ServiceNameSchema,
  servicePort: PortNumberSchema,
});

export type UdpIngressInput = z.infer<typeof CreateUdpIngress>;

/** One forward of the udp-services ConfigMap. */
export interface UdpEntry {
  port: number;
  namespace: string;
  serviceName: string;
  servicePort: number;
}

// ingress-nginx allows further ":"-separated options (PROXY protocol) after the port.
const TARGET = /^([^/]+)\/([^:]+):(\d+)(:.*)?$/;

/** Parses one data entry; undefined for keys or values that are not a UDP forward. */
export function parseUdpEntry(key: string, value: string): UdpEntry | undefined {
  const match = TARGET.exec(value);
  if (!/^\d+$/.test(key) || !match) return undefined;
  return { port: Number(key), namespace: match[1], serviceName: match[2], servicePort: Number(match[3]) };
}

export function udpTarget(namespace: string, input: Pick<UdpIngressInput, 'serviceName' | 'servicePort'>): string {
  return `${namespace}/${input.serviceName}:${input.servicePort}`;
}

/** zcloud's view of one forward; its id is the port it listens on. */
export function udpEntryToApi(entry: UdpEntry): ApiObject {
  return { id: String(entry.port), port: entry.port, serviceName: entry.serviceName, servicePort: entry.servicePort };
}

/** The forwards of `namespace` in a udp-services ConfigMap, sorted by port. */
export function udpEntriesOf(configMap: ConfigMapObject | undefined, namespace: string): UdpEntry[] {
  return Object.entries(configMap?.data ?? {})
    .map(([key, value]) => parseUdpEntry(key, value))
    .filter((entry): entry is UdpEntry => entry !== undefined && entry.namespace === namespace)
    .sort((a, b) => a.port - b.port);
}

function cachedEntries(ctx: RequestContext): UdpEntry[] {
  const configMap = readCache<ConfigMapObject>(ctx, 'configmaps').store.get(UDP_SERVICES.namespace, UDP_SERVICES.name);
  // Entries live in ingress-nginx but belong to the namespace they forward to: a user sees only those.
  return udpEntriesOf(configMap, ctx.parents.namespace);
}

async function create(cluster: ClusterRuntime, namespace: string, input: UdpIngressInput): Promise<UdpEntry> {
  const key = String(input.port);
  await updateUdpServices(cluster, (data) => {
    const taken = data[key];
    // The holder may be another tenant's namespace: say the port is taken, not by whom.
    if (taken !== undefined) throw new ConflictError(`udp port ${key} is already in use`);
    return { [key]: udpTarget(namespace, input) };
  });
  return { port: input.port, namespace, serviceName: input.serviceName, servicePort: input.servicePort };
}

async function remove(cluster: ClusterRuntime, namespace: string, id: string): Promise<void> {
  await updateUdpServices(cluster, (data) => {
    const entry = data[id] === undefined ? undefined : parseUdpEntry(id, data[id]);
    if (!entry || entry.namespace !== namespace) throw new NotFoundError(`udpingress ${id} not found`);
    return { [id]: null };
  });
}

export const udpingressResource = defineResource({
  kind: 'udpingress',
  parents: ['namespace'],
  list: async (ctx) => cachedEntries(ctx).map(udpEntryToApi),
  get: async (ctx, id) => {
    const entry = cachedEntries(ctx).find((e) => String(e.port) === id);
    return entry && udpEntryToApi(entry);
  },
  create: {
    input: CreateUdpIngress,
    run: async (ctx, input) => {
      requireServicePort(ctx, ctx.parents.namespace, input, 'UDP');
      return udpEntryToApi(await create(clusterOf(ctx), ctx.parents.namespace, input));
    },
  },
  remove: async (ctx, id) => remove(clusterOf(ctx), ctx.parents.namespace, id),
});
