import { InputError } from '../errors.js';
import type { ControllerRevisionObject, PodTemplate, ReplicaSetObject } from '../kube/objects.js';
import { CHANGE_CAUSE_ANNOTATION, CONFIG_HASH_ANNOTATION } from './options.js';
import { containersToApi, type ContainerView } from './pod-template.js';

/**
 * Revisions of a workload's pod template, as the Kubernetes controllers record them:
 * ReplicaSets for deployments (annotation deployment.kubernetes.io/revision), ControllerRevisions
 * for statefulsets and daemonsets (field `revision`). Rolling back to an old template makes the
 * controller re-use that revision under the next number, so the highest number is the current.
 */
export interface Revision {
  version: number;
  changeReason: string;
  template: PodTemplate;
  creationTimestamp?: string;
}

export interface VersionInfo {
  version: number;
  changeReason: string;
  containers: ContainerView[];
  creationTimestamp?: string;
}

export const DEPLOYMENT_REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';


/** A ReplicaSet's template without the label its controller adds (pod-template-hash). */
function withoutHashLabel(template: PodTemplate | undefined): PodTemplate {
  const copy = structuredClone(template ?? {}) as PodTemplate;
  if (copy.metadata?.labels) delete copy.metadata.labels['pod-template-hash'];
  return copy;
}

export function replicaSetRevisions(replicaSets: readonly ReplicaSetObject[]): Revision[] {
  return replicaSets
    .map((rs) => ({
      version: Number(rs.metadata.annotations?.[DEPLOYMENT_REVISION_ANNOTATION] ?? NaN),
      changeReason: rs.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '',
      template: withoutHashLabel(rs.spec?.template),
      creationTimestamp: rs.metadata.creationTimestamp,
    }))
    .filter((r) => Number.isInteger(r.version))
    .sort((a, b) => a.version - b.version);
}

export function controllerRevisions(revisions: readonly ControllerRevisionObject[]): Revision[] {
  return revisions
    .map((cr) => {
      const { $patch: _replace, ...template } = structuredClone(cr.data?.spec?.template ?? {});
      return {
        version: cr.revision ?? NaN,
        changeReason: cr.metadata.annotations?.[CHANGE_CAUSE_ANNOTATION] ?? '',
        template: template as PodTemplate,
        creationTimestamp: cr.metadata.creationTimestamp,
      };
    })
    .filter((r) => Number.isInteger(r.version))
    .sort((a, b) => a.version - b.version);
}

function currentVersion(revisions: readonly Revision[], current: number | undefined): number | undefined {
  return current ?? revisions.at(-1)?.version;
}

/** The versions one may roll back to: oldest first, the current one left out. */
export function historyOf(revisions: readonly Revision[], current?: number): VersionInfo[] {
  const now = currentVersion(revisions, current);
  return revisions
    .filter((r) => r.version !== now)
    .map((r) => ({
      version: r.version,
      changeReason: r.changeReason,
      containers: containersToApi(r.template),
      ...(r.creationTimestamp ? { creationTimestamp: r.creationTimestamp } : {}),
    }));
}

/** The template of `version` to roll back to; unknown or current versions are input errors. */
export function rollbackTemplate(revisions: readonly Revision[], version: number, current?: number): PodTemplate {
  if (version === currentVersion(revisions, current)) throw new InputError(`${version} is the current version`, 'version');
  const revision = revisions.find((r) => r.version === version);
  if (!revision) throw new InputError(`no version ${version} in the history`, 'version');
  return structuredClone(revision.template);
}

/**
 * `next` as the workload's new template, keeping the current config hash: configuration is
 * not versioned with the template, so a rollback must not bring back a stale one.
 */
export function keepConfigHash(next: PodTemplate, current: PodTemplate | undefined): PodTemplate {
  const hash = current?.metadata?.annotations?.[CONFIG_HASH_ANNOTATION];
  const annotations = { ...(next.metadata?.annotations ?? {}) };
  if (hash) annotations[CONFIG_HASH_ANNOTATION] = hash;
  else delete annotations[CONFIG_HASH_ANNOTATION];
  return { ...next, metadata: { ...(next.metadata ?? {}), annotations } };
}

/** `template` with the named containers' images replaced; an unknown container is an input error. */
export function setImages(template: PodTemplate | undefined, images: ReadonlyArray<{ name: string; image: string }>): PodTemplate {
  const next = structuredClone(template ?? {}) as PodTemplate;
  const containers = next.spec?.containers ?? [];
  images.forEach((change, i) => {
    const container = containers.find((c) => c.name === change.name);
    if (!container) throw new InputError(`no container "${change.name}" in the workload`, `images.${i}.name`);
    container.image = change.image;
  });
  return next;
}

/** Workload annotations with the change cause set to `reason` (or removed: a stale one would mislead). */
export function withChangeCause(annotations: Readonly<Record<string, string>> | undefined, reason: string | undefined): Record<string, string> {
  const out = { ...(annotations ?? {}) };
  if (reason) out[CHANGE_CAUSE_ANNOTATION] = reason;
  else delete out[CHANGE_CAUSE_ANNOTATION];
  return out;
}
