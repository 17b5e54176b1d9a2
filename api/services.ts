import type { ChartCatalog } from '../src/apps/chart-catalog.js';
import type { ClusterManager } from '../src/clusters/cluster-manager.js';
import type { UserQuotaService } from '../src/quotas/user-quota-service.js';
import type { AuditTrail } from '../src/audit.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import type { ProvisioningLog } from '../src/provisioning/provisioning-log.js';
import type { UserService } from '../src/users.js';

/** What the API layer may call. Composed once in server/zcloud.ts. */
export interface ApiServices {
  config: Config;
  logger: Logger;
  users: UserService;
  audit: AuditTrail;
  clusters: ClusterManager;
  quotas: UserQuotaService;
  /** The charts applications install (built-in and ZCLOUD_CHART_DIR). */
  catalog: ChartCatalog;
  /** The provisioning log of each provisioned cluster (zkelog). */
  provisioningLog: ProvisioningLog;
}
