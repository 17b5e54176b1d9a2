import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Topics } from '../streaming/topics.js';

/** A line longer than this is cut: one runaway error message must not push the rest out. */
const MAX_LINE_CHARS = 4_000;

/**
 * The provisioning log of each cluster: what step, which host, which container, errors, as text
 * lines. The one source the `zkelog` endpoint and its websocket (backlog, then `listen`) read.
 * Bounded per cluster; never given a secret (messages name files and containers, not their content).
 *
 * With `dir` (the data dir's `provisioning-logs/`), each cluster's lines are also appended to
 * `<dir>/<cluster>.log`, so an operator still sees why a create failed after a restart. The file
 * holds at most twice `maxLinesPerCluster` lines: past that it is rewritten with the newest
 * `maxLinesPerCluster`. Cluster names are DNS labels, safe as file names.
 */
export class ProvisioningLog {
  readonly #lines = new Map<string, string[]>();
  /** Lines in each cluster's file, to know when to compact it. */
  readonly #fileLines = new Map<string, number>();
  readonly #listeners = new Topics<string>();

  constructor(
    private readonly maxLinesPerCluster = 2000,
    private readonly dir?: string,
  ) {
    if (dir) mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  append(cluster: string, message: string, now = new Date()): void {
    const lines = this.#loaded(cluster);
    const line = `${now.toISOString()} ${message.length > MAX_LINE_CHARS ? `${message.slice(0, MAX_LINE_CHARS)}…` : message}`.replace(/\r?\n/g, ' ');
    lines.push(line);
    if (lines.length > this.maxLinesPerCluster) lines.splice(0, lines.length - this.maxLinesPerCluster);
    if (this.dir) this.#persist(cluster, line, lines);
    this.#listeners.publish(cluster, line);
  }

  /** Calls `listener` with every line appended to `cluster`'s log from now on; returns the unsubscribe. */
  listen(cluster: string, listener: (line: string) => void): () => void {
    return this.#listeners.listen(cluster, listener);
  }

  lines(cluster: string): readonly string[] {
    return [...this.#loaded(cluster)];
  }

  forget(cluster: string): void {
    this.#lines.delete(cluster);
    this.#fileLines.delete(cluster);
    if (this.dir) rmSync(this.#file(cluster), { force: true });
  }

  #file(cluster: string): string {
    return path.join(this.dir!, `${cluster}.log`);
  }

  /** The cluster's lines in memory, read from its file on first use after a start. */
  #loaded(cluster: string): string[] {
    let lines = this.#lines.get(cluster);
    if (lines) return lines;
    lines = [];
    if (this.dir && existsSync(this.#file(cluster))) {
      const stored = readFileSync(this.#file(cluster), 'utf8').split('\n').filter(Boolean);
      this.#fileLines.set(cluster, stored.length);
      lines = stored.slice(-this.maxLinesPerCluster);
    }
    this.#lines.set(cluster, lines);
    return lines;
  }

  #persist(cluster: string, line: string, kept: readonly string[]): void {
    const inFile = (this.#fileLines.get(cluster) ?? 0) + 1;
    if (inFile > 2 * this.maxLinesPerCluster) {
      writeFileSync(this.#file(cluster), `${kept.join('\n')}\n`, { mode: 0o600 });
      this.#fileLines.set(cluster, kept.length);
      return;
    }
    appendFileSync(this.#file(cluster), `${line}\n`, { mode: 0o600 });
    this.#fileLines.set(cluster, inFile);
  }
}
