import { z } from 'zod';
import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';

/**
 * The steps of a provisioning run and the pure choice of the next one. A run is a list of
 * idempotent steps in a fixed order; the journal (stored durably before and after each step)
 * says which are done, so a run killed anywhere resumes at the first step not done, re-running
 * at most the one that was in flight, which is safe since every step is idempotent.
 */

export const stepKinds = ['pki', 'connect', 'files', 'etcd', 'control-plane', 'apiserver-proxy', 'kubelet', 'kube-proxy', 'pod-network', 'cluster-objects', 'addons'] as const;
export type StepKind = (typeof stepKinds)[number];

export interface StepRef {
  kind: StepKind;
  /** The node the step runs on; undefined for cluster-wide steps (pki). */
  host?: string;
}

export const StepStateSchema = z.object({
  state: z.enum(['running', 'done', 'failed']),
  attempts: z.number().int().min(0),
  lastError: z.string().optional(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().optional(),
});
export type StepState = z.infer<typeof StepStateSchema>;

/**
 * How an etcd member joined, fixed at its first start: the members of a new cluster all start
 * `new` with the same list; one added to a running cluster was `member add`ed first and starts
 * `existing` with the members at that time. Kept so its container never changes afterwards (etcd
 * reads these flags only on its first start anyway).
 */
export const EtcdJoinSchema = z.object({ initialCluster: z.string(), state: z.enum(['new', 'existing']) });
export type EtcdJoin = z.infer<typeof EtcdJoinSchema>;

export const ProvisioningJournalSchema = z.object({
  cluster: z.string(),
  /** A new run (a PUT, a retry after CreateFailed) starts a new generation: every step runs again, finding nothing to change where nothing changed. */
  generation: z.number().int().min(1),
  /** Host keys pinned on first use, by node name: they outlive generations. */
  hostKeys: z.record(z.string(), z.string()),
  steps: z.record(z.string(), StepStateSchema),
  /** How each etcd member was started (see EtcdJoin), by node name: they outlive generations, so a member's command never changes. */
  etcdJoins: z.record(z.string(), EtcdJoinSchema).default({}),
  /** Whether the etcd cluster has formed (every first member healthy): from then on a node without a join is a new member, whatever a bootstrap listed. */
  etcdFormed: z.boolean().default(false),
});

export type ProvisioningJournal = z.infer<typeof ProvisioningJournalSchema>;

export function stepId(step: StepRef): string {
  return step.host ? `${step.kind}/${step.host}` : step.kind;
}

/**
 * Every step of the spec in run order: the PKI before any host is touched; every host
 * connected (and its key pinned) before any is changed; etcd one host at a time before the
 * control plane; the local apiserver proxy of every other host; kubelets and kube-proxies; each
 * host's pod network (once every node has its podCIDR); then, through the new apiserver, the cluster's
 * own objects (RBAC, node labels and taints, once every node is Ready) and its add-ons.
 */
export function planSteps(spec: ProvisionedClusterSpec): StepRef[] {
  const on = (kind: StepKind, role?: string) => spec.nodes.filter((n) => !role || n.roles.includes(role as never)).map((n) => ({ kind, host: n.name }));
  const notControlplane = (kind: StepKind) => spec.nodes.filter((n) => !n.roles.includes('controlplane')).map((n) => ({ kind, host: n.name }));
  return [{ kind: 'pki' }, ...on('connect'), ...on('files'), ...on('etcd', 'etcd'), ...on('control-plane', 'controlplane'), ...notControlplane('apiserver-proxy'), ...on('kubelet'), ...on('kube-proxy'), ...on('pod-network'), { kind: 'cluster-objects' }, { kind: 'addons' }];
}

/** The first step of the plan the journal does not record as done; undefined when the run is complete. */
export function nextStep(spec: ProvisionedClusterSpec, journal: ProvisioningJournal): StepRef | undefined {
  return planSteps(spec).find((step) => journal.steps[stepId(step)]?.state !== 'done');
}
