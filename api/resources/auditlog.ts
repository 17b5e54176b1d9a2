import { defineResource, type ApiObject } from '../framework/resource.js';

/** Read-only view of the audit trail (admin only, by the authorizer's default). */
export const auditlogResource = defineResource({
  kind: 'auditlog',
  list: async (ctx) =>
    (await ctx.services.audit.list()).map(
      (entry): ApiObject => ({ ...entry, creationTimestamp: entry.time }),
    ),
});
