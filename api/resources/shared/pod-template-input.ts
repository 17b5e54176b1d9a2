import { z } from 'zod';
import { isQuantity } from '../../../src/kube/quantity.js';
import { STORAGE_CLASSES, type ContainerInput, type PersistentVolumeInput, type VolumeType } from '../../../src/workloads/pod-template.js';
import { LabelNameSchema, ObjectNameSchema, protocolSchema, uniqueBy } from './validation.js';

/**
 * Input schemas of the containers and persistentVolumes all five workload kinds accept; what
 * they become in Kubernetes is src/workloads/pod-template.ts.
 */

/** IANA service name, what Kubernetes accepts as a port name. */
const PortNameSchema = z
  .string()
  .max(15, 'must be at most 15 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be lower-case letters, digits and "-"')
  .regex(/[a-z]/, 'must contain a letter');

const EnvVarSchema = z.object({
  name: z.string().regex(/^[-._a-zA-Z][-._a-zA-Z0-9]*$/, 'must be letters, digits, "_", "-" or ".", not starting with a digit'),
  value: z.string().optional(),
});

export interface ContainerSchemaOptions {
  /** The seed spells protocols `TCP`/`UDP` in deployment input and `tcp`/`udp` everywhere else; either case is accepted. */
  protocols: readonly ['TCP', 'UDP'] | readonly ['tcp', 'udp'];
  /** Deployment and statefulset input require a port's protocol; the others default to tcp. */
  protocolRequired: boolean;
  /** Jobs and cronjobs mount configmaps and secrets only. */
  volumeTypes: readonly [VolumeType, ...VolumeType[]];
}

/** The `containers` array of a workload's input, as the seed describes it for that kind. */
export function containersSchema(options: ContainerSchemaOptions) {
  const protocol = protocolSchema(options.protocols);
  const Port = z.object({
    name: PortNameSchema.optional(),
    port: z.number().int().min(1).max(65535),
    protocol: options.protocolRequired ? protocol : protocol.optional(),
  });
  const Volume = z.object({
    name: ObjectNameSchema,
    type: z.enum(options.volumeTypes),
    mountPath: z.string().startsWith('/', 'must be an absolute path'),
  });
  const Container = z.object({
    name: LabelNameSchema,
    image: z.string().trim().min(1, 'is required'),
    command: z.array(z.string()).optional(),
    args: z.array(z.string()).optional(),
    env: uniqueBy(EnvVarSchema, (e) => e.name, 'env name').optional(),
    exposedPorts: uniqueBy(Port, (p) => `${p.port}/${(p.protocol ?? 'tcp').toLowerCase()}`, 'port').optional(),
    volumes: uniqueBy(Volume, (v) => v.mountPath, 'mountPath').optional(),
  });
  return uniqueBy(Container, (c) => c.name, 'container name').min(1, 'must hold at least one container') satisfies z.ZodType<ContainerInput[]>;
}

export const PersistentVolumeSchema = z
  .object({
    name: LabelNameSchema,
    size: z.string().refine(isQuantity, 'must be a quantity such as 10Gi').optional(),
    storageClassName: z.enum(STORAGE_CLASSES),
  })
  .superRefine((pv, ctx) => {
    // A claim needs a size to request; a temporary (emptyDir) volume may be unbounded.
    if (pv.storageClassName !== 'temporary' && pv.size === undefined) ctx.addIssue({ code: 'custom', path: ['size'], message: 'is required' });
  }) satisfies z.ZodType<PersistentVolumeInput>;
export const PersistentVolumesSchema = uniqueBy(PersistentVolumeSchema, (pv) => pv.name, 'persistentVolume name');

/** Issues for volumes of type persistentVolume that name no entry of `persistentVolumes`. */
export function checkPersistentVolumeReferences(
  input: { containers: readonly ContainerInput[]; persistentVolumes?: readonly PersistentVolumeInput[] },
  ctx: z.RefinementCtx,
): void {
  const declared = new Set((input.persistentVolumes ?? []).map((pv) => pv.name));
  input.containers.forEach((container, i) =>
    (container.volumes ?? []).forEach((volume, j) => {
      if (volume.type === 'persistentVolume' && !declared.has(volume.name)) {
        ctx.addIssue({ code: 'custom', path: ['containers', i, 'volumes', j, 'name'], message: `names no entry of persistentVolumes ("${volume.name}")` });
      }
    }),
  );
}
