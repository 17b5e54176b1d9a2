import { stopAllTestClusters } from './world.js';
import { removeTempDirs } from './zcloud.js';

/**
 * Root hooks for every mocha run (.mocharc.json `require`). After all suites, failed or not,
 * the test clusters started during the run are stopped by their recorded pids, so no
 * kube-apiserver, etcd or node simulator outlives `npm test`. Their data stays in .testenv/;
 * zcloud data dirs the run made under the temp dir are removed.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    // Stopping waits for each process to exit (etcd and apiserver take ~1 s on SIGTERM).
    this.timeout(60_000);
    try {
      await stopAllTestClusters();
    } finally {
      removeTempDirs();
    }
  },
};
