import { randomInt } from 'node:crypto';
import { z } from 'zod';
import { ConflictError, ForbiddenError, InputError, NotFoundError, UnauthorizedError } from './errors.js';
import { UNMATCHABLE_CREDENTIAL, hashCredential, verifyCredential } from './auth/password.js';
import { revokedTokensCollection, type RevokedTokens } from './auth/revoked-tokens.js';
import type { LoginThrottle } from './auth/login-throttle.js';
import type { TokenAudience, TokenClaims, TokenService } from './auth/tokens.js';
import { VerifiedTokenCache } from './auth/verified-tokens.js';
import { defineCollection, type Store, type StoreCollection, type Versioned } from './store/store.js';

export const ADMIN_USER = 'admin';
/** sha1 hex of "zcloud", the documented first password of admin. */
export const ADMIN_DEFAULT_SHA1 = '0192309fba8c6f0929b5b00867ebccac9a39e34e';
/** A project namespace that grants every namespace of its cluster. */
export const ALL_NAMESPACES = '_all';

export const ProjectSchema = z.object({
  cluster: z.string().min(1, 'is required'),
  namespace: z.string().min(1, 'is required'),
});
export type Project = z.infer<typeof ProjectSchema>;

export const UserNameSchema = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/, 'must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit');

/** What clients send as a password: the sha1 of it, hex encoded. */
export const Sha1HexSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{40}$/, 'must be the sha1 hex (40 hex digits) of the password')
  .transform((value) => value.toLowerCase());

export const UserRecordSchema = z.object({
  name: UserNameSchema,
  credential: z.string().startsWith('scrypt$'),
  /** Bumped on every password change: tokens carry it and older ones stop working. */
  generation: z.number().int().min(0),
  projects: z.array(ProjectSchema),
  email: z.string().optional(),
  creationTimestamp: z.iso.datetime(),
  updateTimestamp: z.iso.datetime(),
});
export type UserRecord = z.infer<typeof UserRecordSchema>;

export const usersCollection = defineCollection('users', UserRecordSchema);

/** A user as the rest of zcloud sees it: no credential. */
export type User = Omit<UserRecord, 'credential' | 'generation'>;

export interface Principal {
  name: string;
  isAdmin: boolean;
  projects: readonly Project[];
}

function publicView(record: UserRecord): User {
  const { credential: _credential, generation: _generation, ...user } = record;
  return user;
}

export interface UserPatch {
  sha1Password?: string;
  projects?: Project[];
  email?: string;
}

/** Users, their credentials and tokens. The one place that knows how a password is checked. */
export class UserService {
  readonly #users: StoreCollection<UserRecord>;
  readonly #verified = new VerifiedTokenCache();
  /**
   * Each user's Principal with the generation it was read at, shared (frozen) by all its
   * requests instead of a record copied from the store per request. Every write to a user goes
   * through this class and drops the entry (#changed), so it never outlives the record.
   */
  readonly #principals = new Map<string, { generation: number; principal: Principal }>();

  constructor(
    store: Store,
    private readonly tokens: TokenService,
    private readonly revoked: RevokedTokens,
    private readonly throttle: LoginThrottle,
  ) {
    this.#users = store.collection(usersCollection);
    // Replicas sharing the store: a user changed or deleted through another one, or a token it
    // logged out, must stop working here as at once as there. (The principal is re-read, with
    // its generation, on the next request.)
    store.watch?.(usersCollection, (name) => this.#changed(name, { tokensVoided: false }));
    store.watch?.(revokedTokensCollection, (jti) => this.#verified.forgetTokenId(jti));
  }

  /** Creates `admin` with the documented default password when it does not exist. */
  async ensureAdmin(): Promise<void> {
    if (await this.#users.get(ADMIN_USER)) return;
    await this.create({ name: ADMIN_USER, sha1Password: ADMIN_DEFAULT_SHA1, projects: [] });
  }

  async create(input: { name: string; sha1Password: string; projects?: Project[]; email?: string }): Promise<User> {
    const now = new Date().toISOString();
    if (await this.#users.get(input.name)) throw new ConflictError(`user ${input.name} already exists`);
    const record = await this.#users.create(input.name, {
      name: input.name,
      credential: await hashCredential(input.sha1Password),
      // A random start: a user deleted and created again under the same name must not accept
      // the tokens of its earlier life (they carry that life's generation).
      generation: randomInt(1, 2 ** 47),
      projects: input.projects ?? [],
      ...(input.email !== undefined ? { email: input.email } : {}),
      creationTimestamp: now,
      updateTimestamp: now,
    });
    return publicView(record);
  }

  async get(name: string): Promise<User | undefined> {
    const record = await this.#users.get(name);
    return record && publicView(record);
  }

  /** The user and the version of its record, for a later `update` conditional on it. */
  async getVersioned(name: string): Promise<Versioned<User> | undefined> {
    const found = await this.#users.getVersioned(name);
    return found && { value: publicView(found.value), version: found.version };
  }

  async list(): Promise<User[]> {
    return (await this.#users.list()).map(publicView);
  }

  /**
   * Applies `patch` once, over the version `ifVersion` names (a client's If-Match) or else the
   * one read here: ConflictError when the user changed meanwhile, so a patch computed from what
   * a client saw never overwrites what it did not see.
   */
  async update(name: string, patch: UserPatch, ifVersion?: string): Promise<Versioned<User>> {
    const credential = patch.sha1Password !== undefined ? await hashCredential(patch.sha1Password) : undefined;
    const { value: record, version } = await this.#users.updateIf(name, ifVersion, (current) => ({
      ...current,
      ...(credential ? { credential, generation: current.generation + 1 } : {}),
      ...(patch.projects ? { projects: patch.projects } : {}),
      ...(patch.email !== undefined ? { email: patch.email } : {}),
      updateTimestamp: new Date().toISOString(),
    }));
    this.#changed(name, { tokensVoided: credential !== undefined });
    return { value: publicView(record), version };
  }

  async delete(name: string): Promise<void> {
    if (name === ADMIN_USER) throw new ForbiddenError('the admin user cannot be deleted');
    const deleted = await this.#users.delete(name);
    this.#changed(name, { tokensVoided: true });
    if (!deleted) throw new NotFoundError(`user ${name} not found`);
  }

  /** Forgets what was cached of `name`; with `tokensVoided` (new password, deleted) its verified tokens too. */
  #changed(name: string, { tokensVoided }: { tokensVoided: boolean }): void {
    this.#principals.delete(name);
    if (tokensVoided) this.#verified.forgetUser(name);
  }

  /**
   * Checks a credential and issues a token. Unknown user and wrong password fail alike, after
   * the same scrypt work, so timing does not tell which. `sourceAddress` is where the attempt
   * came from: too many failures from it, or for `name`, are refused (TooManyRequestsError)
   * before the credential is even checked; every login path (both APIs, the web session) comes
   * through here, so none escapes the throttle.
   */
  async login(name: string, sha1Password: string, lifetimeMs: number, sourceAddress: string, audience: TokenAudience): Promise<string> {
    this.throttle.check(name, sourceAddress);
    const record = await this.#users.get(name);
    const ok = await verifyCredential(sha1Password, record?.credential ?? UNMATCHABLE_CREDENTIAL);
    if (!record || !ok) {
      this.throttle.recordFailure(name, sourceAddress);
      throw new UnauthorizedError('wrong user name or password');
    }
    this.throttle.recordSuccess(name);
    return this.tokens.issue(record.name, record.generation, lifetimeMs, audience);
  }

  /** Voids one token before its expiry (logout); a token without an id (older zcloud) cannot be, and is left to expire. */
  async revokeToken(token: string): Promise<void> {
    const claims = await this.tokens.verify(token, 'zcloud');
    if (claims.jti !== undefined) await this.revoked.revoke({ jti: claims.jti, exp: claims.exp });
    // After the revocation is recorded: a request verifying meanwhile cannot cache it again.
    this.#verified.forget(token);
  }

  async resetPassword(name: string, oldSha1: string, newSha1: string): Promise<void> {
    const record = await this.#users.get(name);
    if (!record) throw new NotFoundError(`user ${name} not found`);
    if (!(await verifyCredential(oldSha1, record.credential))) throw new InputError('is not the current password', 'oldPassword');
    await this.update(name, { sha1Password: newSha1 });
  }

  /** Resolves a token of `audience`'s API to its user; a deleted user or a changed password voids it. */
  async authenticate(token: string, audience: TokenAudience = 'zcloud'): Promise<Principal> {
    const claims = this.#verified.get(token, audience, Math.floor(Date.now() / 1000)) ?? (await this.#verify(token, audience));
    const current = this.#principals.get(claims.sub) ?? (await this.#loadPrincipal(claims.sub));
    if (!current) throw new UnauthorizedError('the token belongs to a user that no longer exists');
    if (current.generation !== claims.gen) throw new UnauthorizedError('the password changed since this token was issued');
    return current.principal;
  }

  /**
   * Full verification (signature, expiry, audience, not logged out), remembered until `exp`. A
   * logout forgets the token once it is revoked, so the revocation check is needed only here.
   */
  async #verify(token: string, audience: TokenAudience): Promise<TokenClaims> {
    const claims = await this.tokens.verify(token, audience);
    if (claims.jti !== undefined && (await this.revoked.isRevoked(claims.jti))) throw new UnauthorizedError('the session was logged out');
    this.#verified.remember(token, audience, claims);
    return claims;
  }

  async #loadPrincipal(name: string): Promise<{ generation: number; principal: Principal } | undefined> {
    const record = await this.#users.get(name);
    if (!record) return undefined;
    const principal: Principal = Object.freeze({
      name: record.name,
      isAdmin: record.name === ADMIN_USER,
      projects: Object.freeze(record.projects.map((p) => Object.freeze(p))),
    });
    const entry = { generation: record.generation, principal };
    this.#principals.set(name, entry);
    return entry;
  }

  /** Adds a project unless the user holds it already. */
  async grantProject(name: string, project: Project): Promise<void> {
    await this.#users.update(name, (current) =>
      current.projects.some((p) => p.cluster === project.cluster && p.namespace === project.namespace)
        ? current
        : { ...current, projects: [...current.projects, project], updateTimestamp: new Date().toISOString() },
    );
    this.#changed(name, { tokensVoided: false });
  }

  /** Removes one project; a user that no longer exists has nothing to revoke. */
  async revokeProject(name: string, project: Project): Promise<void> {
    if (!(await this.#users.get(name))) return;
    await this.#users.update(name, (current) => ({
      ...current,
      projects: current.projects.filter((p) => !(p.cluster === project.cluster && p.namespace === project.namespace)),
      updateTimestamp: new Date().toISOString(),
    }));
    this.#changed(name, { tokensVoided: false });
  }

  /** Drops every project on `cluster` from every user (the cluster was deleted). */
  async revokeCluster(cluster: string): Promise<void> {
    for (const user of await this.#users.list()) {
      if (!user.projects.some((p) => p.cluster === cluster)) continue;
      await this.#users.update(user.name, (current) => ({
        ...current,
        projects: current.projects.filter((p) => p.cluster !== cluster),
      }));
      this.#changed(user.name, { tokensVoided: false });
    }
  }
}
