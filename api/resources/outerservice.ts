import { entryPointId, outerServices, type OuterServiceView } from '../../src/views/service-topology.js';
import { storeReader } from '../cluster-access.js';
import { defineResource, type ApiObject } from '../framework/resource.js';
import { innerServiceToApi } from './innerservice.js';

/** `{entryPoint, services: {"<path or port>": innerservice}}`; the id is derived from the entry point. */
export function outerServiceToApi(view: OuterServiceView): ApiObject {
  const services = Object.fromEntries(
    Object.entries(view.services).map(([key, service]) => {
      const { id: _id, ...fields } = innerServiceToApi(service);
      return [key, fields];
    }),
  );
  return { id: entryPointId(view.entryPoint), entryPoint: view.entryPoint, services };
}

/**
 * One per entry point into the namespace: ingress hosts (http) and the ingress controller's
 * TCP/UDP forwards. The seed's kind list spells it "outservice"; its resource section and URL say outerservice.
 */
export const outerserviceResource = defineResource({
  kind: 'outerservice',
  parents: ['namespace'],
  list: async (ctx) => outerServices(storeReader(ctx), ctx.parents.namespace).map(outerServiceToApi),
});
