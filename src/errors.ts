/**
 * Business errors. They know nothing of HTTP: one middleware in api/ maps each class to a status
 * code and error body. Throw them with `{ cause }` and add context at each layer.
 */
export class ZcloudError extends Error {
  override readonly name: string = 'ZcloudError';
}

/** Input that fails validation. `field` is the dotted path of the offending field, when known. */
export class InputError extends ZcloudError {
  override readonly name = 'InputError';
  constructor(
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The request body is not parseable at all (malformed JSON, wrong content). */
export class MalformedError extends ZcloudError {
  override readonly name = 'MalformedError';
}

/** The request line itself cannot be read (e.g. a path with broken percent-encoding). */
export class BadRequestError extends ZcloudError {
  override readonly name = 'BadRequestError';
}

export class NotFoundError extends ZcloudError {
  override readonly name = 'NotFoundError';
}

export class ConflictError extends ZcloudError {
  override readonly name = 'ConflictError';
}

export class UnauthorizedError extends ZcloudError {
  override readonly name = 'UnauthorizedError';
}

export class ForbiddenError extends ZcloudError {
  override readonly name = 'ForbiddenError';
}

export class MethodNotAllowedError extends ZcloudError {
  override readonly name = 'MethodNotAllowedError';
  constructor(
    message: string,
    readonly allowed: readonly string[],
  ) {
    super(message);
  }
}

/** Too many attempts (failed logins); `retryAfterSeconds` says when to try again. */
export class TooManyRequestsError extends ZcloudError {
  override readonly name = 'TooManyRequestsError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** Something the client holds that zcloud no longer keeps (a list's continue token past its life): ask again from the start. */
export class ExpiredError extends ZcloudError {
  override readonly name = 'ExpiredError';
}

/** A cluster that is unknown to be reachable right now (not synced, unreachable, deleting). */
export class ClusterUnavailableError extends ZcloudError {
  override readonly name = 'ClusterUnavailableError';
}

/**
 * A cluster refused zcloud itself, not the caller: its credentials lack a right (RBAC) or the
 * apiserver answered something zcloud did not expect. The operator fixes the cluster's import.
 */
export class ClusterRefusedError extends ZcloudError {
  override readonly name = 'ClusterRefusedError';
}

/** Configuration that cannot be used; `key` names the env var or config key. */
export class ConfigError extends ZcloudError {
  override readonly name = 'ConfigError';
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`invalid configuration ${key}: ${message}`);
  }
}

/** The data file cannot be read or does not validate; start-up must stop. */
export class StoreCorruptError extends ZcloudError {
  override readonly name = 'StoreCorruptError';
}

/** Another process (or this one) already uses the data dir; start-up must stop. */
export class DataDirInUseError extends ZcloudError {
  override readonly name = 'DataDirInUseError';
}

/** Returns undefined for a NotFoundError, rethrows anything else. For deletes that may race. */
export function ignoreNotFound(err: unknown): undefined {
  if (err instanceof NotFoundError) return undefined;
  throw err;
}
