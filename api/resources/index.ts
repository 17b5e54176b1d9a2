import type { ResourceDefinition } from '../framework/resource.js';
import { auditlogResource } from './auditlog.js';
import { clusterResource } from './cluster.js';
import { configmapResource } from './configmap.js';
import { namespaceResource } from './namespace.js';
import { userResource } from './user.js';
import { userquotaResource } from './userquota.js';
import { limitrangeResource } from './limitrange.js';
import { nodeResource } from './node.js';
import { persistentvolumeResource } from './persistentvolume.js';
import { persistentvolumeclaimResource } from './persistentvolumeclaim.js';
import { resourcequotaResource } from './resourcequota.js';
import { storageclassResource } from './storageclass.js';
import { secretResource } from './secret.js';
import { serviceResource } from './service.js';
import { ingressResource } from './ingress.js';
import { udpingressResource } from './udpingress.js';
import { innerserviceResource } from './innerservice.js';
import { outerserviceResource } from './outerservice.js';
import { nodenetworkResource } from './nodenetwork.js';
import { podnetworkResource } from './podnetwork.js';
import { servicenetworkResource } from './servicenetwork.js';
import { blockdeviceResource } from './blockdevice.js';
import { storageclusterResource } from './storagecluster.js';
import { deploymentResource } from './deployment.js';
import { statefulsetResource } from './statefulset.js';
import { daemonsetResource } from './daemonset.js';
import { jobResource } from './job.js';
import { cronjobResource } from './cronjob.js';
import { podResource } from './pod.js';
import { eventResource } from './event.js';
import { applicationResource } from './application.js';
import { chartResource } from './chart.js';
import { monitorResource } from './monitor.js';
import { registryResource } from './registry.js';
import { zkelogResource } from './zkelog.js';

/** Every zcloud.cn/v1 resource. The registry derives the URL tree from their parents. */
export const allResources: readonly ResourceDefinition[] = [
  userResource,
  userquotaResource,
  auditlogResource,
  clusterResource,
  zkelogResource,
  namespaceResource,
  configmapResource,
  nodeResource,
  persistentvolumeResource,
  storageclassResource,
  limitrangeResource,
  resourcequotaResource,
  persistentvolumeclaimResource,
  secretResource,
  serviceResource,
  ingressResource,
  udpingressResource,
  innerserviceResource,
  outerserviceResource,
  nodenetworkResource,
  podnetworkResource,
  servicenetworkResource,
  blockdeviceResource,
  storageclusterResource,
  deploymentResource,
  statefulsetResource,
  daemonsetResource,
  jobResource,
  cronjobResource,
  podResource,
  eventResource,
  chartResource,
  applicationResource,
  monitorResource,
  registryResource,
];
