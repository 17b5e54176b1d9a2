import { ClusterRefusedError, ClusterUnavailableError, ConflictError, ForbiddenError, InputError, NotFoundError, ZcloudError } from '../errors.js';
import { KubeApiError, KubeConnectionError } from './kube-http.js';

/** How the apiserver's RBAC phrases a denial: `User "…" cannot create resource "…"`. */
const RBAC_DENIAL = /\bcannot \S+ resource\b/;

/**
 * Maps an apiserver failure to zcloud's business errors, once for every caller:
 * 404 → NotFound, 409 → Conflict, 400/422 → InputError, 403 from admission (a quota, a
 * terminating namespace) → Forbidden; what says the cluster refused zcloud itself (401: its
 * credentials no longer valid; 403 from RBAC: they lack a right; any other 4xx) → ClusterRefused
 * or ClusterUnavailable, naming the cluster (`what` does), never a 500; no answer, 429 or
 * 5xx → ClusterUnavailable. Anything else passes through.
 */
export function translateKubeError(err: unknown, what: string): unknown {
  if (err instanceof ZcloudError) return err;
  if (err instanceof KubeConnectionError) return new ClusterUnavailableError(`${what}: cluster does not answer`, { cause: err });
  if (!(err instanceof KubeApiError)) return err;
  const reason = err.message.replace(/^[^:]*: /, '');
  const message = `${what}: ${reason}`;
  if (err.status === 404) return new NotFoundError(message, { cause: err });
  if (err.status === 409) return new ConflictError(message, { cause: err });
  if (err.status === 400 || err.status === 422) return new InputError(message, undefined, { cause: err });
  if (err.status === 401) return new ClusterUnavailableError(`${what}: the cluster no longer accepts zcloud's credentials (401 Unauthorized); import it again with valid ones`, { cause: err });
  if (err.status === 403 && RBAC_DENIAL.test(err.message)) {
    return new ClusterRefusedError(`${what}: zcloud's credentials for the cluster lack this right: ${reason}`, { cause: err });
  }
  if (err.status === 403) return new ForbiddenError(message, { cause: err });
  if (err.status === 429 || err.status >= 500) return new ClusterUnavailableError(message, { cause: err });
  return new ClusterRefusedError(`${what}: unexpected answer ${err.status}: ${reason}`, { cause: err });
}
