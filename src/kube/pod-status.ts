import type { KubeObject } from './kube-object.js';
import type { ContainerState, ContainerStatus, PodObject } from './objects.js';


/** running / waiting / terminated, as the container's state says; unknown before any status. */
export function containerStateName(status: ContainerStatus | undefined): string {
  if (status?.state?.running) return 'running';
  if (status?.state?.terminated) return 'terminated';
  if (status?.state?.waiting) return 'waiting';
  return 'unknown';
}

function terminatedReason(t: NonNullable<ContainerState['terminated']>): string {
  if (t.reason) return t.reason;
  return t.signal ? `Signal:${t.signal}` : `ExitCode:${t.exitCode ?? 0}`;
}

/**
 * The pod's status as kubectl's STATUS column shows it: Running, Pending, Completed,
 * CrashLoopBackOff, Init:1/2, Terminating, ...
 */
export function podDisplayStatus(pod: PodObject): string {
  const status = pod.status ?? {};
  let reason = status.reason || status.phase || 'Unknown';

  const inits = status.initContainerStatuses ?? [];
  let initializing = false;
  for (let i = 0; i < inits.length; i++) {
    const state = inits[i].state ?? {};
    if (state.terminated && state.terminated.exitCode === 0) continue;
    if (state.terminated) {
      reason = `Init:${terminatedReason(state.terminated)}`;
    } else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${state.waiting.reason}`;
    } else {
      reason = `Init:${i}/${(pod.spec?.initContainers ?? inits).length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing) {
    let hasRunning = false;
    const containers = status.containerStatuses ?? [];
    for (let i = containers.length - 1; i >= 0; i--) {
      const state = containers[i].state ?? {};
      if (state.waiting?.reason) reason = state.waiting.reason;
      else if (state.terminated) reason = terminatedReason(state.terminated);
      else if (state.running && containers[i].ready) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      const ready = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      reason = ready ? 'Running' : 'NotReady';
    }
  }

  if (pod.metadata.deletionTimestamp) return status.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

export function podRestarts(pod: PodObject): number {
  let total = 0;
  for (const c of pod.status?.containerStatuses ?? []) total += c.restartCount ?? 0;
  return total;
}

/** Kind of the pod's controller (ReplicaSet, StatefulSet, DaemonSet, Job, Node) or "". */
export function podControllerKind(pod: KubeObject): string {
  const owners = pod.metadata.ownerReferences ?? [];
  return (owners.find((o) => o.controller) ?? owners[0])?.kind ?? '';
}
