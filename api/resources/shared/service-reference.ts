import { z } from 'zod';
import { InputError } from '../../../src/errors.js';
import type { ServiceObject } from '../../../src/kube/objects.js';
import { readCache } from '../../cluster-access.js';
import type { RequestContext } from '../../framework/resource.js';

/** A Service name: Kubernetes requires a DNS-1035 label (it becomes a DNS name, so it starts with a letter). */
export const ServiceNameSchema = z
  .string()
  .min(1, 'is required')
  .max(63, 'must be at most 63 characters')
  .regex(/^[a-z]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits or "-", starting with a letter and ending with a letter or digit');

export const PortNumberSchema = z.number().int('must be an integer').min(1, 'must be between 1 and 65535').max(65535, 'must be between 1 and 65535');

export interface ServiceReference {
  serviceName: string;
  servicePort: number;
}

/**
 * Checks, against the cache, that `ref` names a Service of `namespace` exposing `servicePort`
 * over `protocol`; otherwise an InputError naming `<fieldPrefix>serviceName` or
 * `<fieldPrefix>servicePort`. Forwarding to a port nobody serves would fail silently at the
 * proxy, so it is refused when the rule is written.
 */
export function requireServicePort(
  ctx: RequestContext,
  namespace: string,
  ref: ServiceReference,
  protocol: 'TCP' | 'UDP',
  fieldPrefix = '',
): void {
  const service = readCache<ServiceObject>(ctx, 'services').store.get(namespace, ref.serviceName);
  if (!service) throw new InputError(`service ${ref.serviceName} not found in namespace ${namespace}`, `${fieldPrefix}serviceName`);
  const ports = service.spec?.ports ?? [];
  if (!ports.some((p) => p.port === ref.servicePort && (p.protocol ?? 'TCP') === protocol)) {
    const served = ports.filter((p) => (p.protocol ?? 'TCP') === protocol).map((p) => p.port);
    throw new InputError(
      `service ${ref.serviceName} has no ${protocol} port ${ref.servicePort} (${protocol} ports: ${served.join(', ') || 'none'})`,
      `${fieldPrefix}servicePort`,
    );
  }
}
