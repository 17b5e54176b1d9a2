import { z } from 'zod';
import type { ServiceObject } from '../../src/kube/objects.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { PortNumberSchema, ServiceNameSchema } from './shared/service-reference.js';
import { LabelNameSchema, protocolSchema, uniqueBy } from './shared/validation.js';



/** Kubernetes' value of spec.clusterIP for a headless service. */
const HEADLESS = 'None';

const ServicePortSchema = z.object({
  name: LabelNameSchema,
  port: PortNumberSchema,
  protocol: protocolSchema(['tcp', 'udp']),
  targetPort: PortNumberSchema,
});
type ServicePortInput = z.infer<typeof ServicePortSchema>;

// Kubernetes refuses two ports with the same name, or the same port and protocol.
const ExposedPortsSchema = uniqueBy(ServicePortSchema, (p) => p.name, 'port name').pipe(
  uniqueBy(z.custom<ServicePortInput>(), (p) => `${p.port}/${p.protocol}`, 'port and protocol'),
);

const CreateService = z
  .object({
    name: ServiceNameSchema,
    serviceType: z.enum(['clusterip', 'nodeport']),
    headless: z.boolean().default(false),
    exposedPorts: ExposedPortsSchema,
  })
  .superRefine((input, ctx) => {
    // A headless service has no virtual IP, so no node can forward to it.
    if (input.headless && input.serviceType === 'nodeport') {
      ctx.addIssue({ code: 'custom', path: ['headless'], message: 'a nodeport service cannot be headless' });
    }
    if (!input.headless && input.exposedPorts.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['exposedPorts'], message: 'needs at least one port unless the service is headless' });
    }
  });

export type ServiceInput = z.infer<typeof CreateService>;

/** Kubernetes → zcloud. LoadBalancer services (made outside zcloud) show as nodeport: they allocate node ports too. */
export function serviceToApi(service: ServiceObject): ApiObject {
  const spec = service.spec ?? {};
  return {
    id: service.metadata.name,
    name: service.metadata.name,
    serviceType: spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? 'nodeport' : 'clusterip',
    headless: spec.clusterIP === HEADLESS,
    clusterIP: spec.clusterIP ?? '',
    exposedPorts: (spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      protocol: (p.protocol ?? 'TCP').toLowerCase(),
      // A named target port has no int form: it is left out rather than invented.
      ...(typeof p.targetPort === 'number' ? { targetPort: p.targetPort } : {}),
      ...(p.nodePort !== undefined ? { nodePort: p.nodePort } : {}),
    })),
    creationTimestamp: service.metadata.creationTimestamp,
  };
}

/** zcloud → Kubernetes: the service selects the pods labelled `app=<name>`, as zcloud's workloads are. */
export function serviceToKube(input: ServiceInput, namespace: string): ServiceObject {
  return {
    metadata: { name: input.name, namespace },
    spec: {
      type: input.serviceType === 'nodeport' ? 'NodePort' : 'ClusterIP',
      selector: { app: input.name },
      ...(input.headless ? { clusterIP: HEADLESS } : {}),
      ports: input.exposedPorts.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol.toUpperCase(), targetPort: p.targetPort })),
    },
  };
}

export const serviceResource = defineResource({
  kind: 'service',
  parents: ['namespace'],
  ...cachedHandlers<ServiceObject>('services', serviceToApi),
  create: {
    input: CreateService,
    run: async (ctx, input) => serviceToApi(await clusterOf(ctx).client.create('services', serviceToKube(input, ctx.parents.namespace))),
  },
});
