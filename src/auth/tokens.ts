import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { UnauthorizedError } from '../errors.js';

export interface TokenClaims {
  /** user name */
  sub: string;
  /** the user's credential generation when issued; a password change bumps it, voiding older tokens */
  gen: number;
  iat: number;
  exp: number;
  /** Unique id of the token, to revoke it alone (a web session's logout); tokens of older zcloud versions have none. */
  jti?: string;
}

/**
 * Which API a token is for. OSP tokens live 30 minutes and zcloud.cn tokens a day; without an
 * audience an OSP token would open the zcloud.cn API for its whole life, so each API accepts
 * only its own (web sessions and websockets are zcloud's).
 */
export type TokenAudience = 'zcloud' | 'osp';

/** Issues and verifies HS256 JWTs with one signing key. */
export class TokenService {
  /**
   * The key imported into WebCrypto once: handing jose the raw bytes made it import them again
   * on every sign and verify, about half the cost of checking a token.
   */
  readonly #key: Promise<CryptoKey>;

  constructor(key: Uint8Array) {
    if (key.length < 32) throw new Error('JWT signing key must be at least 32 bytes');
    this.#key = crypto.subtle.importKey('raw', new Uint8Array(key), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
  }

  async issue(user: string, generation: number, lifetimeMs: number, audience: TokenAudience): Promise<string> {
    const nowMs = Date.now();
    // Rounded up, so a token lives at least its lifetime despite whole-second claims.
    const exp = Math.ceil((nowMs + lifetimeMs) / 1000);
    return new SignJWT({ gen: generation })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(user)
      .setAudience(audience)
      .setJti(randomUUID())
      .setIssuedAt(Math.floor(nowMs / 1000))
      .setExpirationTime(exp)
      .sign(await this.#key);
  }

  /** Throws UnauthorizedError for a bad signature, an expired token, another audience or missing claims. */
  async verify(token: string, audience: TokenAudience): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, { algorithms: ['HS256'], audience });
      if (typeof payload.sub !== 'string' || typeof payload.gen !== 'number' || !payload.exp || !payload.iat) {
        throw new UnauthorizedError('token lacks required claims');
      }
      const jti = typeof payload.jti === 'string' ? { jti: payload.jti } : {};
      return { sub: payload.sub, gen: payload.gen, iat: payload.iat, exp: payload.exp, ...jti };
    } catch (err) {
      if (err instanceof UnauthorizedError) throw err;
      if (err instanceof joseErrors.JWTExpired) throw new UnauthorizedError('token expired');
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') throw new UnauthorizedError(`the token is not for the ${audience} API`);
      throw new UnauthorizedError('invalid token');
    }
  }
}
