import { ClusterUnavailableError, ConflictError, ForbiddenError, InputError, NotFoundError, ZcloudError } from '../errors.js';
import { KubeApiError, KubeConnectionError } from './kube-http.js';

/**
 * Maps an apiserver failure to zcloud's business errors, once for every caller:
 * 404 → NotFound, 409 → Conflict, 400/422 → InputError, 403 → Forbidden, no answer or 5xx →
 * ClusterUnavailable. Anything else passes through.
 */
export function translateKubeError(err: unknown, what: string): unknown {
  if (err instanceof ZcloudError) return err;
  if (err instanceof KubeConnectionError) return new ClusterUnavailableError(`${what}: cluster does not answer`, { cause: err });
  if (!(err instanceof KubeApiError)) return err;
  const message = `${what}: ${err.message.replace(/^[^:]*: /, '')}`;
  if (err.status === 404) return new NotFoundError(message, { cause: err });
  if (err.status === 409) return new ConflictError(message, { cause: err });
  if (err.status === 400 || err.status === 422) return new InputError(message, undefined, { cause: err });
  if (err.status === 403) return new ForbiddenError(message, { cause: err });
  if (err.status >= 500) return new ClusterUnavailableError(message, { cause: err });
  return err;
}
