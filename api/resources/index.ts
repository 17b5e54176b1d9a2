import type { ResourceDefinition } from '../framework/resource.js';
import { auditlogResource } from './auditlog.js';
import { clusterResource } from './cluster.js';
import { configmapResource } from './configmap.js';
import { namespaceResource } from './namespace.js';
import { userResource } from './user.js';
import { userquotaResource } from './userquota.js';

/** Every zcloud.cn/v1 resource. The registry derives the URL tree from their parents. */
export const allResources: readonly ResourceDefinition[] = [
  userResource,
  userquotaResource,
  auditlogResource,
  clusterResource,
  namespaceResource,
  configmapResource,
];
