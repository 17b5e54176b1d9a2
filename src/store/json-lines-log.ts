import { open, readFile, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { StoreCorruptError } from '../errors.js';
import { syncDirectory, writeFileDurably } from './durable-file.js';
import type { AppendLog, LogEntry } from './store.js';

interface Waiter {
  entry: LogEntry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * An AppendLog kept as a JSON-lines file, one entry per line, in append order. Only lines that
 * end with a newline count: an append cut short by a crash (never acknowledged, since `append`
 * resolves after the fsync) leaves a torn last line, which `open` cuts off. Any other line that
 * is not a valid entry stops start-up, as a bad data file does.
 *
 * Appends are written by one drain loop: whatever arrived while the previous batch was being
 * written goes out as one write plus one fdatasync, and every waiter of the batch is answered
 * after that fsync. When the file holds twice the bound (at least one bound more than needed) a
 * batch is written by an atomic rewrite of the newest entries instead, so the file stays bounded
 * while the cost of a rewrite is shared by as many appends as the bound.
 */
export class JsonLinesLog<T extends LogEntry> implements AppendLog<T> {
  #handle: FileHandle;
  /** Durable entries, oldest first, at most #maxEntries of them. */
  #entries: T[];
  #fileLines: number;
  #fileBytes: number;
  #maxEntries = Number.POSITIVE_INFINITY;
  #pending: Waiter[] = [];
  #draining: Promise<void> | undefined;
  #failed: Error | undefined;
  #closed = false;

  private constructor(
    readonly file: string,
    private readonly schema: z.ZodType<T>,
    handle: FileHandle,
    entries: T[],
    bytes: number,
  ) {
    this.#handle = handle;
    this.#entries = entries;
    this.#fileLines = entries.length;
    this.#fileBytes = bytes;
  }

  /**
   * Opens (or creates) the log at `file`. `legacy` are entries of an older data file's
   * collection: those whose id the log lacks are put in front of the log's own entries (they are
   * older) by one atomic rewrite, so calling this again after a crash adds nothing twice.
   * Call only while holding the data dir's lock.
   */
  static async open<T extends LogEntry>(file: string, schema: z.ZodType<T>, legacy: readonly T[] = []): Promise<JsonLinesLog<T>> {
    let entries = await readEntries(file, schema);
    const known = new Set(entries.map((e) => e.id));
    const moved = legacy.filter((e) => !known.has(e.id));
    if (moved.length > 0) {
      entries = [...moved, ...entries];
      await writeFileDurably(file, entries.map(toLine).join(''));
    }
    const handle = await open(file, 'a', 0o600);
    try {
      const { size } = await handle.stat();
      // Created just now: make its directory entry durable before anything is acknowledged in it.
      if (size === 0 && entries.length === 0) await syncDirectory(path.dirname(file));
      return new JsonLinesLog(file, schema, handle, entries, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Keeps the newest `max` entries from now on; the file follows at the next compaction. */
  bound(max: number): void {
    this.#maxEntries = max;
    this.#trimMemory();
  }

  append(entry: T): Promise<void> {
    if (this.#closed) return Promise.reject(new Error(`log ${this.file} is closed`));
    if (this.#failed) return Promise.reject(this.#failed);
    const valid = this.schema.parse(entry);
    return new Promise<void>((resolve, reject) => {
      this.#pending.push({ entry: valid, resolve, reject });
      this.#draining ??= this.#drain();
    });
  }

  async list(): Promise<T[]> {
    return this.#entries.map((e) => structuredClone(e));
  }

  /** Waits for every accepted append, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
    await this.#handle.close();
  }

  async #drain(): Promise<void> {
    // Yield once so that appends made in the same tick join the first batch.
    await Promise.resolve();
    while (this.#pending.length > 0) {
      const batch = this.#pending.splice(0);
      try {
        if (this.#failed) throw this.#failed;
        const added = batch.map((w) => w.entry as T);
        if (this.#fileLines + added.length >= this.#compactAt()) await this.#compact([...this.#entries, ...added]);
        else await this.#appendLines(added);
        this.#entries.push(...added);
        this.#trimMemory();
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    // Cleared in the same synchronous step as the emptiness check: an append after it starts a new drain.
    this.#draining = undefined;
  }

  #compactAt(): number {
    return Number.isFinite(this.#maxEntries) ? this.#maxEntries + Math.max(this.#maxEntries, 1) : Number.POSITIVE_INFINITY;
  }

  async #appendLines(entries: T[]): Promise<void> {
    const text = Buffer.from(entries.map(toLine).join(''));
    try {
      await this.#handle.appendFile(text);
      await this.#handle.datasync();
    } catch (err) {
      // A partial line would glue onto the next append and make the file unreadable at the next
      // start: cut back to the last whole line, or stop appending if even that fails.
      await this.#handle.truncate(this.#fileBytes).catch((truncateErr: unknown) => {
        this.#failed = new Error(`log ${this.file} cannot be appended to after a failed write`, { cause: truncateErr });
      });
      throw err;
    }
    this.#fileBytes += text.length;
    this.#fileLines += entries.length;
  }

  async #compact(all: T[]): Promise<void> {
    const kept = Number.isFinite(this.#maxEntries) ? all.slice(-this.#maxEntries) : all;
    const text = Buffer.from(kept.map(toLine).join(''));
    await writeFileDurably(this.file, text);
    const previous = this.#handle;
    try {
      this.#handle = await open(this.file, 'a', 0o600);
    } catch (err) {
      // The old descriptor now points at the replaced file: appending there would lose entries.
      this.#failed = new Error(`log ${this.file} cannot be reopened after compaction`, { cause: err });
      throw this.#failed;
    }
    await previous.close();
    this.#fileBytes = text.length;
    this.#fileLines = kept.length;
  }

  #trimMemory(): void {
    const excess = this.#entries.length - this.#maxEntries;
    if (excess > 0) this.#entries.splice(0, excess);
  }
}

function toLine(entry: LogEntry): string {
  return `${JSON.stringify(entry)}\n`;
}

/** Reads the whole lines of `file` (none when it is missing) and cuts off a torn last line. */
async function readEntries<T extends LogEntry>(file: string, schema: z.ZodType<T>): Promise<T[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StoreCorruptError(`log ${file} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const end = text.lastIndexOf('\n') + 1;
  if (end < text.length) {
    const handle = await open(file, 'r+');
    try {
      await handle.truncate(Buffer.byteLength(text.slice(0, end)));
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
  const entries: T[] = [];
  const lines = text.slice(0, end).split('\n');
  lines.pop();
  for (const [index, line] of lines.entries()) {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (err) {
      throw new StoreCorruptError(`log ${file} line ${index + 1} is not JSON: ${(err as Error).message}`, { cause: err });
    }
    const result = schema.safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new StoreCorruptError(`log ${file} line ${index + 1} is invalid at ${issue?.path.join('.') || '(entry)'}: ${issue?.message}`);
    }
    entries.push(result.data);
  }
  return entries;
}
