import { z } from 'zod';
import { defineCollection, type Store, type StoreCollection } from '../store/store.js';

export const RevokedTokenSchema = z.object({
  /** The token's `jti`. */
  jti: z.string().min(1),
  /** The token's expiry (seconds since the epoch): past it the entry is useless and dropped. */
  exp: z.number().int(),
});
export type RevokedToken = z.infer<typeof RevokedTokenSchema>;

export const revokedTokensCollection = defineCollection('revokedTokens', RevokedTokenSchema);

/**
 * The bound on entries kept. A token is listed only until it expires anyway, so the list holds
 * at most the logouts of one token lifetime; beyond the bound the oldest entries go first (their
 * tokens are the closest to expiring on their own).
 */
export const MAX_REVOKED_TOKENS = 10_000;

/**
 * Tokens revoked before their expiry (a web session's logout), kept in the store so a restart
 * does not bring them back. Checked on every authenticated request: a lookup by id.
 */
export class RevokedTokens {
  readonly #entries: StoreCollection<RevokedToken>;

  constructor(store: Store) {
    this.#entries = store.collection(revokedTokensCollection);
  }

  async revoke(token: RevokedToken, nowSeconds = Math.floor(Date.now() / 1000)): Promise<void> {
    for (const entry of await this.#entries.list()) if (entry.exp < nowSeconds) await this.#entries.delete(entry.jti);
    await this.#entries.put(token.jti, token);
    await this.#entries.trimOldest(MAX_REVOKED_TOKENS);
  }

  async isRevoked(jti: string): Promise<boolean> {
    return (await this.#entries.get(jti)) !== undefined;
  }
}
