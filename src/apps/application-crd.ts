import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ensureCustomResourceCache } from '../kube/custom-resource.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/kube-object.js';

/** The seed's application status words. */
export const APPLICATION_PHASES = ['create', 'succeed', 'failed', 'delete'] as const;
export type ApplicationPhase = (typeof APPLICATION_PHASES)[number];

/** The kinds of objects an application's status lists (the seed's appResource types). */
export const APP_RESOURCE_TYPES = ['deployment', 'daemonset', 'statefulset', 'configmap', 'secret', 'service', 'ingress', 'cronjob', 'job'] as const;
export type AppResourceType = (typeof APP_RESOURCE_TYPES)[number];

export interface AppResource {
  type: AppResourceType;
  name: string;
}

/**
 * An application: one Helm release of a catalogue chart version, named and namespaced like its
 * release. zcloud's API writes the spec; the application controller writes the status (through
 * the status subresource) and holds the finalizer that uninstalls the release.
 */
export interface ApplicationObject extends KubeObject {
  spec: {
    chartName: string;
    chartVersion: string;
    /** The submitted form values, keyed by the form's jsonKey, but for password fields. */
    configs: Record<string, unknown>;
    /** The Secret (same namespace) holding the password fields' values, if any were given (secret-configs.ts). */
    secretConfigs?: string;
  };
  status?: {
    phase?: ApplicationPhase;
    /** Why the phase is what it is: helm's error for `failed`, a failed uninstall under `delete`. */
    message?: string;
    /** The spec generation the phase describes. */
    observedGeneration?: number;
    appResources?: AppResource[];
    workloadCount?: number;
    readyWorkloadCount?: number;
  };
}

export const APPLICATION_FINALIZER = 'app.zcloud.cn/helm-release';
export const APPLICATION_CRD_NAME = 'applications.app.zcloud.cn';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;

/**
 * The CustomResourceDefinition zcloud installs in every cluster it attaches.
 * deploy/crds/application.yaml is the same object as YAML; a unit test keeps the two equal.
 */
export const applicationCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: APPLICATION_CRD_NAME },
  spec: {
    group: 'app.zcloud.cn',
    scope: 'Namespaced',
    names: { plural: 'applications', singular: 'application', kind: 'Application', listKind: 'ApplicationList' },
    versions: [
      {
        name: 'v1',
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: [
          { name: 'Chart', type: 'string', jsonPath: '.spec.chartName' },
          { name: 'Version', type: 'string', jsonPath: '.spec.chartVersion' },
          { name: 'Status', type: 'string', jsonPath: '.status.phase' },
          { name: 'Ready', type: 'integer', jsonPath: '.status.readyWorkloadCount' },
          { name: 'Workloads', type: 'integer', jsonPath: '.status.workloadCount' },
          { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
        ],
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                required: ['chartName', 'chartVersion'],
                properties: {
                  chartName: str,
                  chartVersion: str,
                  configs: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  secretConfigs: str,
                },
              },
              status: {
                type: 'object',
                properties: {
                  phase: { type: 'string', enum: [...APPLICATION_PHASES] },
                  // nullable: a merge patch clears a message with null.
                  message: { type: 'string', nullable: true },
                  observedGeneration: int,
                  appResources: {
                    type: 'array',
                    items: { type: 'object', properties: { type: { type: 'string', enum: [...APP_RESOURCE_TYPES] }, name: str } },
                  },
                  workloadCount: int,
                  readyWorkloadCount: int,
                },
              },
            },
          },
        },
      },
    ],
  },
};

/** The synced cache of Application objects in `runtime`'s cluster, installing the CRD if needed. */
export function ensureApplicationCache(runtime: ClusterRuntime): Promise<Informer<ApplicationObject>> {
  return ensureCustomResourceCache<ApplicationObject>(runtime, 'applications', applicationCrd);
}
