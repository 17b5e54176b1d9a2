import { z } from 'zod';
import { defineCollection } from '../store/store.js';

export const QuotaFiguresSchema = z.object({ cpu: z.string(), memory: z.string(), storage: z.string() });
export type QuotaFigures = z.infer<typeof QuotaFiguresSchema>;

/**
 * A user's request for a namespace with limits, and what an admin decided. `requested` is what
 * the user asks for now; `approved` what is in force (the reconciler drives the cluster to it).
 * An approved request that is updated and then rejected keeps its earlier approval in force.
 */
export const UserQuotaRecordSchema = z.object({
  id: z.string(),
  namespace: z.string(),
  userName: z.string(),
  purpose: z.string(),
  requestor: z.string().optional(),
  telephone: z.string().optional(),
  requested: QuotaFiguresSchema,
  status: z.enum(['processing', 'approval', 'rejection']),
  requestType: z.enum(['create', 'update']),
  rejectionReason: z.string().optional(),
  creationTimestamp: z.iso.datetime(),
  responseTimestamp: z.iso.datetime().optional(),
  approved: QuotaFiguresSchema.extend({ clusterName: z.string() }).optional(),
  /** Set by delete: the reconciler revokes the project, deletes what it created, then the record. */
  deleting: z.boolean().default(false),
  /** Reconciler progress: whether the cluster matches `approved`, and what it last did or waits for. */
  applied: z.boolean().default(false),
  message: z.string().default(''),
});
export type UserQuotaRecord = z.infer<typeof UserQuotaRecordSchema>;

export const userQuotasCollection = defineCollection('userquotas', UserQuotaRecordSchema);

/** Labels and annotations that mark what zcloud manages for a request (visible to kubectl). */
export const QUOTA_LABEL = 'zcloud.cn/userquota';
export const OWNER_ANNOTATION = 'zcloud.cn/owner';
/** On a namespace zcloud created for the request: only such a namespace is deleted with it. */
export const CREATED_BY_ANNOTATION = 'zcloud.cn/created-by-userquota';
export const QUOTA_OBJECT_NAME = 'zcloud-quota';

/** Namespaces that belong to the cluster itself and are never handed out. */
export const SYSTEM_NAMESPACES = new Set(['default', 'kube-system', 'kube-public', 'kube-node-lease', 'ingress-nginx']);
