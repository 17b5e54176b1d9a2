import { z } from 'zod';
import type { IngressBackend, IngressObject } from '../../src/kube/objects.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { PortNumberSchema, requireServicePort, ServiceNameSchema } from './shared/service-reference.js';
import { ObjectNameSchema, uniqueBy } from './shared/validation.js';



/** The Ingress API version a cluster serves (its cache discovered it). */
export type IngressVersion = 'v1' | 'v1beta1';

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';

const HostSchema = z
  .string()
  .min(1, 'is required')
  .max(253, 'must be at most 253 characters')
  .regex(new RegExp(`^(\\*\\.)?${DNS_LABEL}(\\.${DNS_LABEL})*$`), 'must be a DNS name (lower-case labels separated by ".", optionally starting with "*.")')
  .refine((host) => !/^[0-9.]+$/.test(host), 'must be a DNS name, not an IP address');

const IngressRuleSchema = z.object({
  host: HostSchema,
  path: z.string().regex(/^\/\S*$/, 'must start with "/" and contain no spaces'),
  serviceName: ServiceNameSchema,
  servicePort: PortNumberSchema,
});

const CreateIngress = z.object({
  name: ObjectNameSchema,
  // The same host and path twice would leave the proxy to pick one backend silently.
  rules: uniqueBy(IngressRuleSchema, (r) => `${r.host}${r.path}`, 'host and path').min(1, 'needs at least one rule'),
});

export type IngressInput = z.infer<typeof CreateIngress>;

function backendOf(backend: IngressBackend): { serviceName: string; servicePort?: number } {
  const name = backend.service?.name ?? backend.serviceName ?? '';
  const port = backend.service ? backend.service.port?.number : backend.servicePort;
  // A port given by name (ingresses made outside zcloud) has no int form: it is left out.
  return { serviceName: name, ...(typeof port === 'number' ? { servicePort: port } : {}) };
}

/** Kubernetes → zcloud: every path of every host becomes one flat rule `{host, path, serviceName, servicePort}`. */
export function ingressToApi(ingress: IngressObject): ApiObject {
  return {
    id: ingress.metadata.name,
    name: ingress.metadata.name,
    rules: (ingress.spec?.rules ?? []).flatMap((rule) =>
      (rule.http?.paths ?? []).map((p) => ({ host: rule.host ?? '', path: p.path ?? '', ...backendOf(p.backend) })),
    ),
    creationTimestamp: ingress.metadata.creationTimestamp,
  };
}

/**
 * zcloud → Kubernetes: rules are grouped by host in first-seen order. The path type is
 * ImplementationSpecific, which is what v1beta1 defaulted to, so both versions route alike.
 */
export function ingressToKube(input: IngressInput, namespace: string, version: IngressVersion): IngressObject {
  const byHost = new Map<string, Array<{ path: string; pathType: string; backend: IngressBackend }>>();
  for (const rule of input.rules) {
    const backend: IngressBackend =
      version === 'v1'
        ? { service: { name: rule.serviceName, port: { number: rule.servicePort } } }
        : { serviceName: rule.serviceName, servicePort: rule.servicePort };
    const paths = byHost.get(rule.host) ?? [];
    paths.push({ path: rule.path, pathType: 'ImplementationSpecific', backend });
    byHost.set(rule.host, paths);
  }
  return {
    metadata: { name: input.name, namespace },
    spec: { rules: [...byHost].map(([host, paths]) => ({ host, http: { paths } })) },
  };
}

export const ingressResource = defineResource({
  kind: 'ingress',
  parents: ['namespace'],
  ...cachedHandlers<IngressObject>('ingresses', ingressToApi),
  create: {
    input: CreateIngress,
    run: async (ctx, input) => {
      const namespace = ctx.parents.namespace;
      input.rules.forEach((rule, i) => requireServicePort(ctx, namespace, rule, 'TCP', `rules.${i}.`));
      const cluster = clusterOf(ctx);
      const version: IngressVersion = cluster.cache.kind('ingresses')?.version === 'v1' ? 'v1' : 'v1beta1';
      return ingressToApi(await cluster.client.create('ingresses', ingressToKube(input, namespace, version)));
    },
  },
});
