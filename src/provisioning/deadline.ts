/**
 * Every remote call of a provisioning run goes through `withDeadline`: no step waits forever on
 * a host that stopped answering, and a cancel (the run's AbortSignal) ends the wait at once.
 * `onGiveUp` releases what the call holds (closes the SSH session, destroys a socket), since a
 * promise itself cannot be stopped.
 */
export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

export class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

export function withDeadline<T>(what: string, work: Promise<T>, timeoutMs: number, signal: AbortSignal | undefined, onGiveUp?: () => void): Promise<T> {
  if (signal?.aborted) {
    onGiveUp?.();
    return Promise.reject(new CancelledError(`${what}: cancelled`));
  }
  return new Promise<T>((resolve, reject) => {
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      settle();
    };
    const giveUp = (err: Error) => {
      finish(() => reject(err));
      onGiveUp?.();
    };
    const onAbort = () => giveUp(new CancelledError(`${what}: cancelled`));
    const timer = setTimeout(() => giveUp(new DeadlineExceededError(`${what}: no answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => finish(() => resolve(value)),
      (err: unknown) => finish(() => reject(err)),
    );
  });
}
