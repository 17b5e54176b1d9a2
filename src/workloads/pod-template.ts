import { createHash } from 'node:crypto';
import type { KubeContainer, KubeVolume, PodTemplate } from '../kube/objects.js';

/**
 * The pod template all five workload kinds share: containers (image, command, args, env,
 * exposedPorts, volumes) and the pod volumes those need. One translation pair, used by
 * deployment, statefulset, daemonset, job and cronjob alike. The input schemas live with the
 * API (api/resources/shared/pod-template-input.ts).
 */

// ---- zcloud's model of a workload's containers (validated by the API's input schemas).
export const STORAGE_CLASSES = ['lvm', 'nfs', 'temporary', 'cephfs'] as const;
export type StorageClass = (typeof STORAGE_CLASSES)[number];
export type VolumeType = 'configmap' | 'secret' | 'persistentVolume';

/** A volume of a workload: an emptyDir (`temporary`) or a claim of that storage class. */
export interface PersistentVolumeInput {
  name: string;
  size?: string;
  storageClassName: StorageClass;
}
export interface ContainerInput {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value?: string }>;
  exposedPorts?: Array<{ name?: string; port: number; protocol?: string }>;
  volumes?: Array<{ name: string; type: VolumeType; mountPath: string }>;
}

// ---- Translation.

/** Pod volume name of a mounted configmap or secret: a DNS label, unique per source. */
export function sourceVolumeName(type: 'configmap' | 'secret', objectName: string): string {
  const name = `${type === 'configmap' ? 'cm' : 'secret'}-${objectName.replace(/\./g, '-')}`;
  if (name.length <= 63) return name;
  const digest = createHash('sha1').update(objectName).digest('hex').slice(0, 8);
  return `${name.slice(0, 54)}-${digest}`;
}

/** How a persistentVolume becomes a pod volume; statefulsets use claim templates instead. */
export type ClaimVolume = (pv: PersistentVolumeInput) => KubeVolume | undefined;

export interface PodTemplateOptions {
  /** `app=<workload>` is always set; the pod template is selected by it. */
  workload: string;
  persistentVolumes?: readonly PersistentVolumeInput[];
  /** Pod volume for a non-temporary persistentVolume (a claim), or undefined (claim template). */
  claimVolume: ClaimVolume;
  annotations?: Record<string, string>;
  restartPolicy?: 'OnFailure' | 'Never';
}

function containerToKube(container: ContainerInput): KubeContainer {
  const out: KubeContainer = { name: container.name, image: container.image };
  if (container.command?.length) out.command = [...container.command];
  if (container.args?.length) out.args = [...container.args];
  if (container.env?.length) out.env = container.env.map((e) => ({ name: e.name, value: e.value ?? '' }));
  if (container.exposedPorts?.length) {
    out.ports = container.exposedPorts.map((p) => ({
      ...(p.name ? { name: p.name } : {}),
      containerPort: p.port,
      protocol: (p.protocol ?? 'tcp').toUpperCase(),
    }));
  }
  if (container.volumes?.length) {
    out.volumeMounts = container.volumes.map((v) => ({
      name: v.type === 'persistentVolume' ? v.name : sourceVolumeName(v.type, v.name),
      mountPath: v.mountPath,
    }));
  }
  return out;
}

/** zcloud containers → a pod template labelled (and selected by) `app=<workload>`. */
export function podTemplateToKube(containers: readonly ContainerInput[], options: PodTemplateOptions): PodTemplate {
  const volumes = new Map<string, KubeVolume>();
  const persistent = new Map((options.persistentVolumes ?? []).map((pv) => [pv.name, pv]));
  for (const volume of containers.flatMap((c) => c.volumes ?? [])) {
    if (volume.type === 'configmap') {
      const name = sourceVolumeName('configmap', volume.name);
      volumes.set(name, { name, configMap: { name: volume.name } });
    } else if (volume.type === 'secret') {
      const name = sourceVolumeName('secret', volume.name);
      volumes.set(name, { name, secret: { secretName: volume.name } });
    } else {
      const pv = persistent.get(volume.name);
      if (!pv) continue; // the API's checkPersistentVolumeReferences rejects this before we get here
      const podVolume = pv.storageClassName === 'temporary' ? { name: pv.name, emptyDir: pv.size ? { sizeLimit: pv.size } : {} } : options.claimVolume(pv);
      if (podVolume) volumes.set(pv.name, podVolume);
    }
  }
  const spec: NonNullable<PodTemplate['spec']> = { containers: containers.map(containerToKube) };
  if (volumes.size > 0) spec.volumes = [...volumes.values()];
  if (options.restartPolicy) spec.restartPolicy = options.restartPolicy;
  const metadata: NonNullable<PodTemplate['metadata']> = { labels: { app: options.workload } };
  if (options.annotations && Object.keys(options.annotations).length > 0) metadata.annotations = { ...options.annotations };
  return { metadata, spec };
}

export interface ContainerView {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: Array<{ name: string; value: string }>;
  exposedPorts?: Array<{ name?: string; port: number; protocol: string }>;
  volumes?: Array<{ name: string; type: VolumeType; mountPath: string }>;
}

function volumeView(volume: KubeVolume | undefined, mountPath: string): { name: string; type: VolumeType; mountPath: string } | undefined {
  if (!volume) return undefined;
  if (volume.configMap) return { name: volume.configMap.name, type: 'configmap', mountPath };
  if (volume.secret) return { name: volume.secret.secretName, type: 'secret', mountPath };
  if (volume.persistentVolumeClaim || volume.emptyDir) return { name: volume.name, type: 'persistentVolume', mountPath };
  return undefined;
}

/**
 * Kubernetes → zcloud containers. Env vars from references (valueFrom) and volumes of other
 * kinds are not part of zcloud's model and are left out. `claimTemplates` names the volumes a
 * statefulset's claim templates provide (they have no pod volume).
 */
export function containersToApi(template: PodTemplate | undefined, claimTemplates: readonly string[] = []): ContainerView[] {
  const podVolumes = new Map((template?.spec?.volumes ?? []).map((v) => [v.name, v]));
  for (const name of claimTemplates) if (!podVolumes.has(name)) podVolumes.set(name, { name, persistentVolumeClaim: { claimName: name } });
  return (template?.spec?.containers ?? []).map((c) => {
    const view: ContainerView = { name: c.name, image: c.image ?? '' };
    if (c.command?.length) view.command = [...c.command];
    if (c.args?.length) view.args = [...c.args];
    const env = (c.env ?? []).filter((e) => e.valueFrom === undefined).map((e) => ({ name: e.name, value: e.value ?? '' }));
    if (env.length) view.env = env;
    if (c.ports?.length) {
      view.exposedPorts = c.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.containerPort, protocol: (p.protocol ?? 'TCP').toLowerCase() }));
    }
    const volumes = (c.volumeMounts ?? []).flatMap((m) => volumeView(podVolumes.get(m.name), m.mountPath) ?? []);
    if (volumes.length) view.volumes = volumes;
    return view;
  });
}

/** Names of the configmaps and secrets a template mounts, for reference checks and the config hash. */
export function referencedSources(template: PodTemplate | undefined): { configmaps: string[]; secrets: string[] } {
  const configmaps = new Set<string>();
  const secrets = new Set<string>();
  for (const volume of template?.spec?.volumes ?? []) {
    if (volume.configMap) configmaps.add(volume.configMap.name);
    if (volume.secret) secrets.add(volume.secret.secretName);
  }
  return { configmaps: [...configmaps].sort(), secrets: [...secrets].sort() };
}
