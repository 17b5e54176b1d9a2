import { relative } from 'node:path';
import { stopAllTestClusters } from './world.js';
import { removeTempDirs } from './zcloud.js';

/**
 * Wall time per test file, hooks included: the time from the end of one test to the end of
 * the next is charged to the file of the next (so a file's `before` counts as its own; its
 * `after` goes to the following file). Printed after the run to show where `npm test` spends.
 */
const fileTimes = new Map<string, number>();
let lastTestEnd = Date.now();

function reportFileTimes(): void {
  const slowest = [...fileTimes].sort((a, b) => b[1] - a[1]).slice(0, 25);
  const total = [...fileTimes.values()].reduce((sum, ms) => sum + ms, 0);
  console.log(`\n  slowest test files (wall time with hooks; ${(total / 60_000).toFixed(1)} min in all):`);
  for (const [file, ms] of slowest) console.log(`  ${(ms / 1000).toFixed(1).padStart(8)} s  ${relative(process.cwd(), file)}`);
}

/**
 * Root hooks for every mocha run (.mocharc.json `require`). After all suites, failed or not,
 * the test clusters started during the run are stopped by their recorded pids, so no
 * kube-apiserver, etcd or node simulator outlives `npm test`. Their data stays in .testenv/;
 * zcloud data dirs the run made under the temp dir are removed.
 */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    const now = Date.now();
    const file = this.currentTest?.file;
    if (file) fileTimes.set(file, (fileTimes.get(file) ?? 0) + now - lastTestEnd);
    lastTestEnd = now;
  },
  async afterAll(this: Mocha.Context): Promise<void> {
    // Stopping waits for each process to exit (etcd and apiserver take ~1 s on SIGTERM).
    this.timeout(60_000);
    try {
      await stopAllTestClusters();
    } finally {
      removeTempDirs();
      if (fileTimes.size > 1) reportFileTimes();
    }
  },
};
