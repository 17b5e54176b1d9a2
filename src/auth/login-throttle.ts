import { TooManyRequestsError } from '../errors.js';

export interface LoginThrottleOptions {
  /** Failures from one source address within `windowMs` before it is refused. */
  maxFailuresPerAddress: number;
  /**
   * Failures for one user name within `windowMs` before it is refused. Higher than per address:
   * this bound is against guessing from many addresses, and it also refuses the real user, so a
   * single noisy address must hit its own bound long before it can lock anyone out.
   */
  maxFailuresPerUser: number;
  windowMs: number;
  /** Keys tracked at once; beyond it the least recently failed is forgotten (memory stays bounded under a flood of names). */
  maxTrackedKeys?: number;
  now?: () => number;
}

/** How many times more failures a user name may take than one address. */
export const USER_FAILURES_FACTOR = 5;

/**
 * Counts failed logins per source address and per user name over a sliding window and refuses
 * further attempts (TooManyRequestsError with the seconds until one is allowed) once either
 * reached its bound. A success is never delayed and clears its user's count; an address keeps
 * its failures until they age out, so an attacker cannot wash them away with an account of
 * its own. In memory: a restart forgets counts, which costs an attacker one window at most.
 */
export class LoginThrottle {
  readonly #failures = new Map<string, number[]>();
  readonly #options: Required<LoginThrottleOptions>;

  constructor(options: LoginThrottleOptions) {
    this.#options = { maxTrackedKeys: 100_000, now: Date.now, ...options };
  }

  /** Throws TooManyRequestsError when `user` or `address` has used up its failures. */
  check(user: string, address: string): void {
    const waitMs = Math.max(
      this.#waitMs(`address:${address}`, this.#options.maxFailuresPerAddress),
      this.#waitMs(`user:${user}`, this.#options.maxFailuresPerUser),
    );
    if (waitMs > 0) throw new TooManyRequestsError('too many failed logins; try again later', Math.ceil(waitMs / 1000));
  }

  recordFailure(user: string, address: string): void {
    this.#add(`address:${address}`);
    this.#add(`user:${user}`);
  }

  recordSuccess(user: string): void {
    this.#failures.delete(`user:${user}`);
  }

  /** Until when the oldest failure that keeps `key` at its bound still counts; 0 when below it. */
  #waitMs(key: string, max: number): number {
    const recent = this.#recent(key);
    if (recent.length < max) return 0;
    return recent[recent.length - max] + this.#options.windowMs - this.#options.now();
  }

  #recent(key: string): number[] {
    const since = this.#options.now() - this.#options.windowMs;
    const times = (this.#failures.get(key) ?? []).filter((t) => t > since);
    if (times.length === 0) this.#failures.delete(key);
    else this.#failures.set(key, times);
    return times;
  }

  #add(key: string): void {
    const times = this.#recent(key);
    times.push(this.#options.now());
    // Re-inserted at the end: the Map's order is least recently failed first.
    this.#failures.delete(key);
    this.#failures.set(key, times.slice(-Math.max(this.#options.maxFailuresPerAddress, this.#options.maxFailuresPerUser)));
    while (this.#failures.size > this.#options.maxTrackedKeys) this.#failures.delete(this.#failures.keys().next().value!);
  }
}
