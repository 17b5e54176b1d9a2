import { Topics } from '../streaming/topics.js';

/**
 * The provisioning log of each cluster: what step, which host, which container, errors, as text
 * lines. The one source the `zkelog` endpoint and its websocket (backlog, then `listen`) read.
 * Kept in memory, bounded per cluster; never given a secret (messages name files and
 * containers, not their content).
 */
export class ProvisioningLog {
  readonly #lines = new Map<string, string[]>();
  readonly #listeners = new Topics<string>();

  constructor(private readonly maxLinesPerCluster = 2000) {}

  append(cluster: string, message: string, now = new Date()): void {
    const lines = this.#lines.get(cluster) ?? [];
    lines.push(`${now.toISOString()} ${message}`);
    if (lines.length > this.maxLinesPerCluster) lines.splice(0, lines.length - this.maxLinesPerCluster);
    this.#lines.set(cluster, lines);
    this.#listeners.publish(cluster, lines[lines.length - 1]);
  }

  /** Calls `listener` with every line appended to `cluster`'s log from now on; returns the unsubscribe. */
  listen(cluster: string, listener: (line: string) => void): () => void {
    return this.#listeners.listen(cluster, listener);
  }

  lines(cluster: string): readonly string[] {
    return [...(this.#lines.get(cluster) ?? [])];
  }

  forget(cluster: string): void {
    this.#lines.delete(cluster);
  }
}
