import type { TokenAudience, TokenClaims } from './tokens.js';

interface VerifiedToken {
  audience: TokenAudience;
  claims: TokenClaims;
}

/**
 * Tokens whose signature and claims were checked, kept until their `exp`, so a client's next
 * request skips the HMAC and claim parsing. Keyed by the whole token: a forged token is never
 * equal to a verified one. Holds verification only; whether the user still exists, kept its
 * password or logged the token out is decided on every request by UserService, which also
 * drops a user's entries when they stop being valid. Bounded: past `max` entries the oldest
 * inserted goes first (a client that comes back re-verifies once).
 */
export class VerifiedTokenCache {
  readonly #entries = new Map<string, VerifiedToken>();

  constructor(private readonly max = 10_000) {}

  /** The claims of `token` if it was verified for `audience` and has not expired at `nowSeconds`. */
  get(token: string, audience: TokenAudience, nowSeconds: number): TokenClaims | undefined {
    const entry = this.#entries.get(token);
    if (!entry || entry.audience !== audience) return undefined;
    // The same rule as verification (expired once now >= exp), so a cached token dies on time.
    if (nowSeconds >= entry.claims.exp) {
      this.#entries.delete(token);
      return undefined;
    }
    return entry.claims;
  }

  remember(token: string, audience: TokenAudience, claims: TokenClaims): void {
    if (this.#entries.size >= this.max) this.#entries.delete(this.#entries.keys().next().value!);
    this.#entries.set(token, { audience, claims });
  }

  forget(token: string): void {
    this.#entries.delete(token);
  }

  /** Drops the token with id `jti` (logged out, possibly through another replica). */
  forgetTokenId(jti: string): void {
    for (const [token, entry] of this.#entries) if (entry.claims.jti === jti) this.#entries.delete(token);
  }

  /** Drops every token of `user` (password changed, user deleted). */
  forgetUser(user: string): void {
    for (const [token, entry] of this.#entries) if (entry.claims.sub === user) this.#entries.delete(token);
  }

  get size(): number {
    return this.#entries.size;
  }
}
