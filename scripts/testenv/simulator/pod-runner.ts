import { WorkQueue } from '../../../src/work-queue.js';
import type { SimulatorConfig } from './config.js';
import { isApiError, type KubeClient } from './kube-client.js';
import type { Pod } from './kube-types.js';
import { PodIpPool } from './pod-ips.js';
import { desiredPodStatus, isJobPod, isTerminal, podBehaviour, statusDiffers } from './pod-status.js';
import { runReflector } from './reflector.js';

/** Pods are few in tests; a handful of workers keeps one slow write from holding up the rest. */
const workers = 4;
/** After a conflict the watch brings the newer pod almost at once; look again shortly after. */
const conflictRetryMs = 200;

/**
 * The kubelet part of the simulator: for every pod bound to one of our nodes it reports the
 * containers as started (or completed, or crash-looping, see pod-status.ts), and it finishes
 * graceful deletions by deleting terminating pods with grace period 0. Level-based: each pod
 * key is reconciled from the latest pod seen, whatever event brought it.
 */
export class PodRunner {
  readonly #pods = new Map<string, Pod>();
  // Failed keys retry from 0.2 s up to 5 s: the apiserver may be restarting under us.
  readonly #queue = new WorkQueue({ baseDelayMs: 200, maxDelayMs: 5_000 });
  readonly #pools: Map<string, PodIpPool>;
  readonly #hostIPs: Map<string, string>;

  constructor(
    private readonly client: KubeClient,
    private readonly config: SimulatorConfig,
    private readonly log: (message: string) => void,
    /** Told when a pod is gone from our nodes: its containers' processes and files go with it. */
    private readonly onPodGone: (pod: Pod) => void = () => undefined,
  ) {
    this.#pools = new Map(config.nodes.map((node) => [node.name, new PodIpPool(node.podCIDR)]));
    this.#hostIPs = new Map(config.nodes.map((node) => [node.name, node.internalIP]));
  }

  /** The pod as last seen by the watch; undefined when it is not bound to one of our nodes (or gone). */
  pod(namespace: string, name: string): Pod | undefined {
    return this.#pods.get(`${namespace}/${name}`);
  }

  /** Runs until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.#queue.shutDown(), { once: true });
    // Every bound pod: one watch for all our nodes instead of one per node.
    const path = `/api/v1/pods?fieldSelector=${encodeURIComponent('spec.nodeName!=')}`;
    await Promise.all([
      runReflector<Pod>(this.client, path, this.#handlers(), signal, this.log),
      ...Array.from({ length: workers }, () => this.#work()),
    ]);
  }

  #handlers() {
    return {
      replace: (items: Pod[]): void => {
        const ours = items.filter((pod) => this.#isOurs(pod));
        const fresh = new Set(ours.map(keyOf));
        for (const [key, pod] of this.#pods) if (!fresh.has(key)) this.#forget(key, pod);
        // Known IPs first, so a restarted simulator keeps every running pod's address.
        for (const pod of ours) {
          if (pod.metadata.uid && pod.status?.podIP) this.#pools.get(pod.spec.nodeName!)!.assign(pod.metadata.uid, pod.status.podIP);
        }
        for (const pod of ours) this.#pods.set(keyOf(pod), pod);
        for (const key of fresh) this.#queue.add(key);
      },
      upsert: (pod: Pod): void => {
        if (!this.#isOurs(pod)) return;
        this.#pods.set(keyOf(pod), pod);
        this.#queue.add(keyOf(pod));
      },
      remove: (pod: Pod): void => {
        if (this.#isOurs(pod)) this.#forget(keyOf(pod), pod);
      },
    };
  }

  #isOurs(pod: Pod): boolean {
    return pod.spec.nodeName !== undefined && this.#pools.has(pod.spec.nodeName);
  }

  #forget(key: string, pod: Pod): void {
    this.#pods.delete(key);
    this.onPodGone(pod);
    this.#queue.forget(key);
    if (pod.metadata.uid) this.#pools.get(pod.spec.nodeName!)?.release(pod.metadata.uid);
  }

  async #work(): Promise<void> {
    for (let key = await this.#queue.get(); key !== undefined; key = await this.#queue.get()) {
      try {
        await this.#reconcile(key);
        this.#queue.forget(key);
      } catch (err) {
        const delay = this.#queue.addRateLimited(key);
        this.log(`pod ${key}: ${(err as Error).message}; retrying in ${delay} ms`);
      } finally {
        this.#queue.done(key);
      }
    }
  }

  async #reconcile(key: string): Promise<void> {
    const pod = this.#pods.get(key);
    if (!pod) return;
    const { name, namespace, uid } = pod.metadata;
    const podPath = `/api/v1/namespaces/${namespace}/pods/${name}`;
    if (pod.metadata.deletionTimestamp) {
      // The containers are "stopped" at once; what is left is what a kubelet does last.
      const options = { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds: 0, preconditions: { uid } };
      await this.client.delete(podPath, options).catch((err: unknown) => {
        if (!isApiError(err, 404) && !isApiError(err, 409)) throw err;
      });
      return;
    }
    if (isTerminal(pod)) return;
    const nodeName = pod.spec.nodeName!;
    const podIP = this.#pools.get(nodeName)!.assign(uid ?? key, pod.status?.podIP);
    const timing = { now: new Date(), jobCompletionMs: this.config.jobCompletionMs, crashRestartMs: this.config.crashRestartMs };
    const status = desiredPodStatus(pod, { hostIP: this.#hostIPs.get(nodeName)!, podIP }, timing);
    if (statusDiffers(pod.status, status)) {
      try {
        await this.client.put(`${podPath}/status`, { ...pod, status });
      } catch (err) {
        if (isApiError(err, 404)) return;
        if (isApiError(err, 409)) return this.#queue.addAfter(key, conflictRetryMs);
        throw err;
      }
    }
    this.#scheduleTimedChange(key, pod, status.startTime!);
  }

  /** Pods whose status changes with time alone (a Job finishing, a crash loop) are looked at again when it does. */
  #scheduleTimedChange(key: string, pod: Pod, startTime: string): void {
    const started = new Date(startTime).getTime();
    const now = Date.now();
    const timing = { now: new Date(now), jobCompletionMs: this.config.jobCompletionMs, crashRestartMs: this.config.crashRestartMs };
    const behaviour = podBehaviour(pod, new Date(started), timing);
    if (behaviour === 'crash-looping') {
      const elapsed = now - started;
      this.#queue.addAfter(key, this.config.crashRestartMs - (elapsed % this.config.crashRestartMs) + 10);
    } else if (behaviour === 'running' && isJobPod(pod)) {
      this.#queue.addAfter(key, Math.max(0, started + this.config.jobCompletionMs - now) + 10);
    }
  }
}

function keyOf(pod: Pod): string {
  return `${pod.metadata.namespace}/${pod.metadata.name}`;
}
