import { innerServices, type ServiceView } from '../../src/views/service-topology.js';
import { storeReader } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';

/** A service no entry point leads to: `{name, workloads: [{name, kind, pods: [{name, state}]}]}`. */
export function innerServiceToApi(view: ServiceView): ApiObject {
  return { id: view.name, name: view.name, workloads: view.workloads };
}

/** Derived from the cluster's caches on every request (services, pods, owners, ingresses): list only. */
export const innerserviceResource = defineResource({
  kind: 'innerservice',
  parents: ['namespace'],
  list: async (ctx) => innerServices(storeReader(ctx), ctx.parents.namespace).map(innerServiceToApi),
});
