import { randomBytes } from 'node:crypto';
import type { ClusterRuntime } from '../clusters/cluster-manager.js';
import { ConflictError, ignoreNotFound } from '../errors.js';
import type { IngressObject, SecretObject } from '../kube/objects.js';
import { APPLICATION_FINALIZER, ensureApplicationCache, type ApplicationObject } from './application-crd.js';
import type { ChartCatalog } from './chart-catalog.js';
import { valuesFromConfigs } from './chart-form.js';
import { replaceSecret, splitSecretConfigs, writeSecretConfigs } from './secret-configs.js';

/** Where zcloud installs the applications of its system charts in each cluster. */
export const SYSTEM_NAMESPACE = 'zcloud-system';

/**
 * A system application: one per cluster, an Application of a system chart in SYSTEM_NAMESPACE,
 * named like its chart, whose admin password lives only in a Secret of the cluster
 * (`<name>-admin`, key adminPassword) owned by the Application, so it goes when the
 * Application does. The chart reads the Secret itself: the password is in no helm value.
 */
export type SystemAppName = 'monitor' | 'registry';

/** The Ingress of each system chart whose URL is the application's redirectUrl. */
const ENTRY_INGRESS: Record<SystemAppName, string> = { monitor: 'monitor-grafana', registry: 'registry' };

export function adminSecretName(app: SystemAppName): string {
  return `${app}-admin`;
}

/** The system application in `runtime`'s cluster, if any (from the cache). */
export function systemApp(runtime: ClusterRuntime, app: SystemAppName): ApplicationObject | undefined {
  return runtime.cache.informer<ApplicationObject>('applications')?.store.get(SYSTEM_NAMESPACE, app);
}

/** `http://<host>/` of the application's Ingress as the cache holds it; '' until it exists. */
export function redirectUrl(runtime: ClusterRuntime, app: SystemAppName): string {
  const ingress = runtime.cache.informer<IngressObject>('ingresses')?.store.get(SYSTEM_NAMESPACE, ENTRY_INGRESS[app]);
  const host = ingress?.spec?.rules?.find((r) => r.host)?.host;
  return host ? `http://${host}/` : '';
}

export interface SystemAppInput {
  /** Form values of the system chart (its newest version), keyed by jsonKey. */
  configs: Record<string, unknown>;
  /** Generated (24 random bytes, base64url) when absent; readable only from the cluster Secret. */
  adminPassword?: string;
}

/**
 * Creates the system application `app` in `runtime`'s cluster: the system namespace if missing,
 * the Application (newest version of the chart), then the admin Secret owned by it. 409 when
 * the cluster has one already. Configs are validated first (422 naming `configs.<key>`).
 */
export async function createSystemApp(runtime: ClusterRuntime, catalog: ChartCatalog, app: SystemAppName, input: SystemAppInput): Promise<ApplicationObject> {
  const chart = catalog.get(app);
  const version = chart?.versions[0];
  if (!chart || !version) throw new Error(`zcloud's catalogue has no system chart ${app}`);
  const configs = { ...input.configs, adminSecret: adminSecretName(app) };
  valuesFromConfigs(version.config, configs);
  const { store } = await ensureApplicationCache(runtime);
  if (store.get(SYSTEM_NAMESPACE, app)) throw new ConflictError(`cluster ${runtime.name} already has a ${app}`);
  if (!runtime.cache.informer('namespaces')?.store.get(undefined, SYSTEM_NAMESPACE)) {
    await runtime.client.create('namespaces', { metadata: { name: SYSTEM_NAMESPACE } }).catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
  }
  const { plain, secret: passwords } = splitSecretConfigs(version.config, configs);
  const secretConfigs = Object.keys(passwords).length > 0 ? await writeSecretConfigs(runtime, SYSTEM_NAMESPACE, app, passwords) : undefined;
  const created = await runtime.client.create<ApplicationObject>('applications', {
    metadata: { name: app, namespace: SYSTEM_NAMESPACE, finalizers: [APPLICATION_FINALIZER] },
    spec: { chartName: app, chartVersion: version.version, configs: plain, ...(secretConfigs ? { secretConfigs } : {}) },
  });
  const secret: SecretObject = {
    metadata: {
      name: adminSecretName(app),
      namespace: SYSTEM_NAMESPACE,
      ownerReferences: [{ apiVersion: 'app.zcloud.cn/v1', kind: 'Application', name: app, uid: created.metadata.uid ?? '', controller: true }],
    },
    type: 'Opaque',
    stringData: { adminPassword: input.adminPassword || randomBytes(24).toString('base64url') },
  };
  await replaceSecret(runtime, secret);
  return created;
}

/**
 * Deletes the system application `app` (its release is uninstalled by the application
 * controller) and its admin Secret. The Secret also has the Application as owner; deleting it
 * here does not leave its removal to the garbage collector's timing.
 */
export async function deleteSystemApp(runtime: ClusterRuntime, app: SystemAppName): Promise<void> {
  await runtime.client.delete('applications', SYSTEM_NAMESPACE, app);
  await runtime.client.delete('secrets', SYSTEM_NAMESPACE, adminSecretName(app)).catch(ignoreNotFound);
}
