import { z } from 'zod';
import { ensureApplicationCache, type ApplicationObject, type ApplicationPhase } from '../../src/apps/application-crd.js';
import type { ChartCatalog } from '../../src/apps/chart-catalog.js';
import { valuesFromConfigs } from '../../src/apps/chart-form.js';
import { CACHE_OF_TYPE } from '../../src/apps/release-resources.js';
import { splitSecretConfigs, writeSecretConfigs } from '../../src/apps/secret-configs.js';
import { ConflictError, InputError } from '../../src/errors.js';
import { clusterOf } from '../cluster-access.js';
import { defineResource, type ApiObject, type RequestContext } from '../framework/resource.js';
import { API_PREFIX } from '../framework/router.js';
import { chartIconUrl } from './chart.js';
import { cachedHandlers } from './shared/cached-handlers.js';
import { LabelNameSchema } from './shared/validation.js';

const CreateApplication = z.object({
  // Helm keeps release names to 53 characters (its release Secrets add a suffix).
  name: LabelNameSchema.max(53, 'must be at most 53 characters (a Helm release name)'),
  chartName: z.string().min(1, 'is required'),
  chartVersion: z.string().min(1, 'is required'),
  configs: z.record(z.string(), z.unknown()),
});
export type ApplicationInput = z.infer<typeof CreateApplication>;

/** The seed's status word: a deleting Application is `delete` whatever its last status said. */
export function applicationPhase(app: ApplicationObject): ApplicationPhase {
  if (app.metadata.deletionTimestamp) return 'delete';
  if (app.status?.observedGeneration !== app.metadata.generation && app.status?.phase !== 'failed') return 'create';
  return app.status?.phase ?? 'create';
}

/** Kubernetes → zcloud. appResources link to zcloud's own URLs of the release's objects. */
export function applicationToApi(app: ApplicationObject, cluster: string, catalog: ChartCatalog): ApiObject {
  const namespace = app.metadata.namespace ?? '';
  const nsUrl = `${API_PREFIX}/clusters/${cluster}/namespaces/${namespace}`;
  return {
    id: app.metadata.name,
    name: app.metadata.name,
    chartName: app.spec.chartName,
    chartVersion: app.spec.chartVersion,
    chartIcon: chartIconUrl(catalog.get(app.spec.chartName)),
    status: applicationPhase(app),
    message: app.status?.message ?? '',
    appResources: (app.status?.appResources ?? []).map((r) => ({ name: r.name, type: r.type, link: `${nsUrl}/${CACHE_OF_TYPE[r.type]}/${r.name}` })),
    workloadCount: app.status?.workloadCount ?? 0,
    readyWorkloadCount: app.status?.readyWorkloadCount ?? 0,
    creationTimestamp: app.metadata.creationTimestamp,
  };
}

/** The chart version `input` names, with its configs checked against the version's form (422 naming the field). */
export function checkApplicationInput(catalog: ChartCatalog, input: ApplicationInput): void {
  const chart = catalog.get(input.chartName);
  if (!chart || chart.system) throw new InputError(`no chart ${input.chartName} in the catalogue`, 'chartName');
  const version = catalog.version(input.chartName, input.chartVersion);
  if (!version) throw new InputError(`chart ${input.chartName} has no version ${input.chartVersion}`, 'chartVersion');
  valuesFromConfigs(version.config, input.configs);
}

const toApi = (app: ApplicationObject, ctx: RequestContext): ApiObject => applicationToApi(app, ctx.parents.cluster, ctx.services.catalog);

/**
 * Applications of a namespace: Helm releases of catalogue charts, as Application objects the
 * application controller installs (controllers/application.ts). Create answers at once with
 * status `create`; delete answers 204 while the release is uninstalled (status `delete`, then
 * gone). Values are sent as `configs`, never returned; password fields go to a Secret, not the
 * Application's spec (src/apps/secret-configs.ts).
 */
export const applicationResource = defineResource({
  kind: 'application',
  parents: ['namespace'],
  ...cachedHandlers<ApplicationObject>('applications', toApi),
  create: {
    input: CreateApplication,
    run: async (ctx, input) => {
      // Bad input is refused before anything (even the CRD) is written to the cluster.
      checkApplicationInput(ctx.services.catalog, input);
      const runtime = clusterOf(ctx);
      const applications = await ensureApplicationCache(runtime);
      // Checked before the Secret is written: a second create must not replace the first one's passwords.
      if (applications.store.get(ctx.parents.namespace, input.name)) throw new ConflictError(`application ${input.name} already exists`);
      const form = ctx.services.catalog.version(input.chartName, input.chartVersion)?.config ?? [];
      const { plain, secret } = splitSecretConfigs(form, input.configs);
      const secretConfigs = Object.keys(secret).length > 0 ? await writeSecretConfigs(runtime, ctx.parents.namespace, input.name, secret) : undefined;
      const created = await runtime.client.create<ApplicationObject>('applications', {
        metadata: { name: input.name, namespace: ctx.parents.namespace },
        spec: { chartName: input.chartName, chartVersion: input.chartVersion, configs: plain, ...(secretConfigs ? { secretConfigs } : {}) },
      });
      return toApi(created, ctx);
    },
  },
  sensitiveFields: ['configs'],
});
