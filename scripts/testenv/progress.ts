/**
 * Progress lines for slow steps. They go to stderr so that stdout stays machine-readable
 * (`up` prints the kubeconfig path as its last stdout line).
 */
export function progress(message: string): void {
  process.stderr.write(`[testenv] ${message}\n`);
}

/** Human duration for progress lines: "850ms", "12.3s", "4m05s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
