import { createHash } from 'node:crypto';
import { crashAnnotation } from './config.js';
import type { Container, ContainerState, ContainerStatus, Pod, PodCondition, PodStatus } from './kube-types.js';

/** Where a pod runs: its node's address and the IP it was given. */
export interface Placement {
  hostIP: string;
  podIP: string;
}

export interface Timing {
  now: Date;
  jobCompletionMs: number;
  crashRestartMs: number;
}

/** What the simulated containers of a pod are doing. */
export type PodBehaviour = 'running' | 'succeeded' | 'crash-looping';

/** Kubernetes times have second precision: "2024-05-01T10:00:00Z". */
export function kubeTime(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function isJobPod(pod: Pod): boolean {
  return (pod.metadata.ownerReferences ?? []).some((owner) => owner.kind === 'Job' && owner.controller !== false);
}

export function isTerminal(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

/**
 * What the pod does at `now`: Job pods succeed `jobCompletionMs` after they started, pods
 * annotated `testenv.zcloud.cn/crash: "true"` crash-loop, every other pod runs for ever.
 */
export function podBehaviour(pod: Pod, startTime: Date, timing: Timing): PodBehaviour {
  if (pod.metadata.annotations?.[crashAnnotation] === 'true') return 'crash-looping';
  if (isJobPod(pod) && timing.now.getTime() - startTime.getTime() >= timing.jobCompletionMs) return 'succeeded';
  return 'running';
}

/**
 * The QoS class the apiserver leaves to the kubelet to report: Guaranteed when every container
 * has cpu and memory limits equal to its requests, BestEffort when none has any request or
 * limit, Burstable otherwise. (Requests default to limits.)
 */
export function qosClass(pod: Pod): 'Guaranteed' | 'Burstable' | 'BestEffort' {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  const resources = containers.map((c) => ({ requests: { ...c.resources?.limits, ...c.resources?.requests }, limits: c.resources?.limits ?? {} }));
  if (resources.every((r) => Object.keys(r.requests).length === 0 && Object.keys(r.limits).length === 0)) return 'BestEffort';
  const guaranteed = resources.every((r) =>
    ['cpu', 'memory'].every((name) => r.limits[name] !== undefined && r.requests[name] === r.limits[name]),
  );
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * The status a kubelet would report for `pod` at `timing.now`. Deterministic: times are taken
 * from the current status where the state did not change (startTime, startedAt, condition
 * transitions), and derived from the start time where it did (a Job's finish, a crash loop's
 * restart count), so recomputing it for an unchanged pod gives the same status.
 * A terminal pod's status is returned unchanged.
 */
export function desiredPodStatus(pod: Pod, placement: Placement, timing: Timing): PodStatus {
  const current = pod.status ?? {};
  if (isTerminal(pod)) return current;
  const startTime = current.startTime ?? kubeTime(timing.now);
  const started = new Date(startTime);
  const behaviour = podBehaviour(pod, started, timing);
  const uid = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
  const finishedAt = kubeTime(new Date(started.getTime() + timing.jobCompletionMs));
  const restarts = 1 + Math.floor((timing.now.getTime() - started.getTime()) / timing.crashRestartMs);

  const containerStatus = (container: Container): ContainerStatus => {
    const base = {
      name: container.name,
      image: container.image ?? '',
      imageID: imageId(container.image ?? ''),
    };
    switch (behaviour) {
      case 'running':
        return {
          ...base,
          ready: true,
          started: true,
          restartCount: 0,
          containerID: containerId(uid, container.name, 0),
          state: { running: { startedAt: startTime } },
          lastState: {},
        };
      case 'succeeded': {
        const containerID = containerId(uid, container.name, 0);
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: 0,
          containerID,
          state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: startTime, finishedAt, containerID } },
          lastState: {},
        };
      }
      case 'crash-looping': {
        const containerID = containerId(uid, container.name, restarts);
        const lastState: ContainerState = {
          terminated: { exitCode: 1, reason: 'Error', startedAt: startTime, finishedAt: startTime, containerID },
        };
        return {
          ...base,
          ready: false,
          started: false,
          restartCount: restarts,
          containerID,
          state: {
            waiting: {
              reason: 'CrashLoopBackOff',
              message: `back-off 10s restarting failed container=${container.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${uid})`,
            },
          },
          lastState,
        };
      }
    }
  };

  const initContainerStatuses = (pod.spec.initContainers ?? []).map((container): ContainerStatus => {
    const containerID = containerId(uid, container.name, 0);
    return {
      name: container.name,
      image: container.image ?? '',
      imageID: imageId(container.image ?? ''),
      ready: true,
      started: false,
      restartCount: 0,
      containerID,
      state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: startTime, finishedAt: startTime, containerID } },
      lastState: {},
    };
  });

  const ready = behaviour === 'running';
  const notReadyReason = behaviour === 'succeeded' ? 'PodCompleted' : 'ContainersNotReady';
  const condition = (type: string, status: boolean, reason?: string): PodCondition => {
    const value = status ? 'True' : 'False';
    const existing = current.conditions?.find((c) => c.type === type);
    return {
      type,
      status: value,
      lastProbeTime: null,
      lastTransitionTime: existing?.status === value ? existing.lastTransitionTime : kubeTime(timing.now),
      ...(reason ? { reason } : {}),
    };
  };

  return {
    ...current,
    phase: behaviour === 'succeeded' ? 'Succeeded' : 'Running',
    conditions: [
      condition('Initialized', true, behaviour === 'succeeded' ? 'PodCompleted' : undefined),
      condition('Ready', ready, ready ? undefined : notReadyReason),
      condition('ContainersReady', ready, ready ? undefined : notReadyReason),
      condition('PodScheduled', true),
    ],
    hostIP: placement.hostIP,
    podIP: placement.podIP,
    podIPs: [{ ip: placement.podIP }],
    startTime,
    ...(initContainerStatuses.length ? { initContainerStatuses } : {}),
    containerStatuses: pod.spec.containers.map(containerStatus),
    qosClass: qosClass(pod),
  };
}

/**
 * Whether `current` differs from `desired` in anything the simulator sets. Compares a
 * projection rather than whole objects, so fields the apiserver adds or normalises never
 * make us write the same status again and again.
 */
export function statusDiffers(current: PodStatus | undefined, desired: PodStatus): boolean {
  return JSON.stringify(projection(current ?? {})) !== JSON.stringify(projection(desired));
}

function projection(status: PodStatus): unknown {
  const containers = (list: ContainerStatus[] | undefined): unknown =>
    (list ?? []).map((c) => [c.name, c.ready, c.started, c.restartCount, c.containerID, c.image, c.imageID, stateKey(c.state)]);
  return [
    status.phase,
    status.hostIP,
    status.podIP,
    status.startTime,
    status.qosClass,
    (status.conditions ?? []).map((c) => [c.type, c.status, c.reason ?? '']).sort(),
    containers(status.initContainerStatuses),
    containers(status.containerStatuses),
  ];
}

function stateKey(state: ContainerState | undefined): string {
  if (state?.running) return `running@${state.running.startedAt}`;
  if (state?.terminated) return `terminated:${state.terminated.exitCode}@${state.terminated.finishedAt}`;
  if (state?.waiting) return `waiting:${state.waiting.reason}`;
  return 'none';
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** A containerd-style ID, stable per pod, container and restart. */
function containerId(uid: string, name: string, restart: number): string {
  return `containerd://${sha256(`${uid}/${name}/${restart}`)}`;
}

/** A digest-pinned image reference as a container runtime reports it after pulling. */
function imageId(image: string): string {
  const repository = image.split('@')[0]!.replace(/:[^/:]+$/, '');
  return `${repository}@sha256:${sha256(image)}`;
}
