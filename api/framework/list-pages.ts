import { randomBytes } from 'node:crypto';
import { ExpiredError, InputError } from '../../src/errors.js';

/** Query parameters of a list that are not field filters. */
export const LIST_PARAMETERS: ReadonlySet<string> = new Set(['action', 'limit', 'continue']);

/** The largest page a client may ask for. */
export const MAX_LIMIT = 100_000;

export interface PageRequest {
  limit?: number;
  /** The snapshot and offset a `continue` token names. */
  next?: { snapshot: string; offset: number };
}

const TOKEN = /^([A-Za-z0-9_-]{22})\.(\d{1,9})$/;

/** `?limit=` and `?continue=` of a list; malformed values are 422 naming the parameter. */
export function pageRequest(query: Readonly<Record<string, string>>): PageRequest {
  const out: PageRequest = {};
  if (query.limit !== undefined) {
    const limit = /^\d{1,9}$/.test(query.limit) ? Number(query.limit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) throw new InputError(`must be a whole number from 1 to ${MAX_LIMIT}`, 'limit');
    out.limit = limit;
  }
  if (query.continue !== undefined) {
    const match = TOKEN.exec(query.continue);
    if (!match) throw new InputError('is not a continue token zcloud issued', 'continue');
    out.next = { snapshot: match[1], offset: Number(match[2]) };
  }
  return out;
}

interface Snapshot {
  /** Who listed what: another caller or another list cannot continue it. */
  owner: string;
  items: readonly string[];
  limit: number;
  expiresAt: number;
}

export interface Page {
  items: readonly string[];
  /** Token of the next page; absent on the last. */
  continue?: string;
}

/**
 * The lists being paged through, each kept whole as it was when its first page was asked, so
 * every page of one listing comes from one consistent snapshot (no item skipped or repeated
 * while the cache changes). Items are the serialised objects the first page already built.
 * A snapshot lives `ttlMs` after its last page was served; past `max` snapshots the one used
 * least recently goes. A token past its snapshot's life is 410 Expired: list again.
 */
export class ListSnapshots {
  readonly #snapshots = new Map<string, Snapshot>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly max = 100,
  ) {}

  /** The page `request` asks of `items` (a first page) or of its snapshot (a continue). */
  page(owner: string, request: PageRequest, items: () => readonly string[], now = Date.now()): Page {
    this.#dropExpired(now);
    if (!request.next) {
      const all = items();
      const limit = request.limit ?? all.length;
      if (all.length <= limit) return { items: all };
      return { items: all.slice(0, limit), continue: this.#keep({ owner, items: all, limit, expiresAt: now + this.ttlMs }, limit) };
    }
    const { snapshot: id, offset } = request.next;
    const snapshot = this.#snapshots.get(id);
    if (!snapshot) throw new ExpiredError('continue: the list this token pages through has expired (5 minutes after its last page) or is unknown; list again without continue');
    if (snapshot.owner !== owner) throw new InputError('belongs to another list or another user', 'continue');
    const limit = request.limit ?? snapshot.limit;
    const end = offset + limit;
    this.#snapshots.delete(id);
    if (end >= snapshot.items.length) return { items: snapshot.items.slice(offset) };
    // Re-inserted: the Map's order is the order of last use.
    snapshot.expiresAt = now + this.ttlMs;
    this.#snapshots.set(id, snapshot);
    return { items: snapshot.items.slice(offset, end), continue: `${id}.${end}` };
  }

  get size(): number {
    return this.#snapshots.size;
  }

  #keep(snapshot: Snapshot, offset: number): string {
    if (this.#snapshots.size >= this.max) this.#snapshots.delete(this.#snapshots.keys().next().value!);
    const id = randomBytes(16).toString('base64url');
    this.#snapshots.set(id, snapshot);
    return `${id}.${offset}`;
  }

  #dropExpired(now: number): void {
    for (const [id, snapshot] of this.#snapshots) {
      if (snapshot.expiresAt > now) break; // in order of last use, so the rest are younger
      this.#snapshots.delete(id);
    }
  }
}
