import { AppsV1Api, CoreV1Api, type V1Deployment, type V1Service } from '@kubernetes/client-node';
import { expect } from 'chai';
import { eventually } from '../helpers/world.js';

/** A Deployment of `replicas` pods labelled app=<name>. */
export function deployment(name: string, replicas: number): V1Deployment {
  return {
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: `${name}:1` }] } },
    },
  };
}

/** A ClusterIP Service selecting app=<name> (or headless). */
export function service(name: string, options: { headless?: boolean } = {}): V1Service {
  return {
    metadata: { name },
    spec: { selector: { app: name }, ports: [{ port: 80 }], ...(options.headless ? { clusterIP: 'None' } : {}) },
  };
}

/** What a view item says, without the envelope fields every resource carries. */
export function fieldsOf<T extends { id?: unknown; type?: unknown; links?: unknown; creationTimestamp?: unknown }>(item: T): Omit<T, 'type' | 'links' | 'creationTimestamp'> {
  const { type: _type, links: _links, creationTimestamp: _created, ...fields } = item;
  return fields;
}

/** Sets the replicas of a Deployment, retrying on conflicts with the controller's status writes. */
export async function scale(apps: AppsV1Api, namespace: string, name: string, replicas: number): Promise<void> {
  await eventually(async () => {
    const current = await apps.readNamespacedDeployment({ name, namespace });
    await apps.replaceNamespacedDeployment({ name, namespace, body: { ...current, spec: { ...current.spec!, replicas } } });
  });
}

/**
 * Names of the pods labelled app=<app>, as the apiserver reports them, once there are exactly
 * `count` and all run (deleted ones gone): the truth the views are checked against.
 */
export async function runningPods(core: CoreV1Api, namespace: string, app: string, count: number): Promise<string[]> {
  return eventually(
    async () => {
      const pods = (await core.listNamespacedPod({ namespace, labelSelector: `app=${app}` })).items;
      expect(pods, `pods of ${app}`).to.have.length(count);
      for (const pod of pods) expect(pod.status?.phase, pod.metadata?.name).to.equal('Running');
      return pods.map((p) => p.metadata!.name!).sort();
    },
    { within: 30_000, interval: 200 },
  );
}
