/**
 * Wall time of provisioning a 3-host cluster (controlplane+etcd, worker, worker+edge) on the
 * test world's hosts, and of a no-op re-run (a new journal generation: every step runs again
 * and finds nothing to change), with where the time goes per step kind.
 *
 *   node --import tsx bench/provision-three-hosts.ts
 *
 * Runs `runProvisioning` (what the cluster-provisioning controller runs) with a real store,
 * collecting the same per-step durations zcloud exports as
 * zcloud_provisioning_step_duration_seconds. Makes host set `ad-bench` and destroys it after.
 * Prints a markdown table for docs/benchmarks.md.
 */
import { cpus, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../src/clusters/provisioning-spec.js';
import { ProvisioningJournalStore, provisioningJournalCollection } from '../src/provisioning/journal-store.js';
import { ClusterPkiStore, clusterPkiCollection } from '../src/provisioning/pki-store.js';
import { ProvisioningLog } from '../src/provisioning/provisioning-log.js';
import { runProvisioning } from '../src/provisioning/provisioning-run.js';
import { SecretBox } from '../src/store/secret-box.js';
import { stepKinds, type StepKind } from '../src/provisioning/step-plan.js';
import { openLowdbStore } from '../src/store/lowdb-store.js';
import { destroyHosts, upHosts } from '../scripts/testenv/hosts/host-set.js';
import { threeHostCluster } from '../test/helpers/three-hosts.js';

const setName = 'ad-bench';

type StepTimes = Map<StepKind, { seconds: number; count: number }>;

async function main(): Promise<void> {
  await destroyHosts(setName);
  const dataDir = mkdtempSync(path.join(tmpdir(), 'zcloud-bench-'));
  const store = await openLowdbStore({ dataDir, collections: [clusterPkiCollection, provisioningJournalCollection] });
  try {
    const set = await upHosts(setName, { count: 3 });
    const spec = ProvisionedClusterInputSchema.parse(threeHostCluster(set)) as ProvisionedClusterSpec;
    const journal = new ProvisioningJournalStore(store);
    const pki = new ClusterPkiStore(store, SecretBox.forDataDir(dataDir));
    const log = new ProvisioningLog();
    const run = async (): Promise<{ wall: number; steps: StepTimes }> => {
      const steps: StepTimes = new Map();
      const began = process.hrtime.bigint();
      await runProvisioning({
        cluster: 'bench',
        spec,
        journal,
        pki,
        log,
        signal: new AbortController().signal,
        onStepFinished: (step, outcome, seconds) => {
          if (outcome !== 'ok') throw new Error(`step ${step} failed`);
          const sum = steps.get(step) ?? { seconds: 0, count: 0 };
          steps.set(step, { seconds: sum.seconds + seconds, count: sum.count + 1 });
        },
      });
      return { wall: Number(process.hrtime.bigint() - began) / 1e9, steps };
    };
    const create = await run();
    await journal.newGeneration('bench');
    const linesBeforeRerun = log.lines('bench').length;
    const rerun = await run();
    const rerunLines = log.lines('bench').slice(linesBeforeRerun);

    console.log(`${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}\n`);
    console.log('| step (hosts) | create (s) | no-op re-run (s) |');
    console.log('| --- | --- | --- |');
    for (const kind of stepKinds) {
      const a = create.steps.get(kind);
      const b = rerun.steps.get(kind);
      console.log(`| ${kind} (${a?.count ?? 0}) | ${a?.seconds.toFixed(2) ?? '-'} | ${b?.seconds.toFixed(2) ?? '-'} |`);
    }
    console.log(`| **wall time** | **${create.wall.toFixed(1)}** | **${rerun.wall.toFixed(1)}** |`);
    console.log(`\nre-run: ${rerunLines.filter((line) => / container \S+ unchanged$/.test(line)).length} containers unchanged, ${rerunLines.filter((line) => / container \S+ (created|recreated|started)$/.test(line)).length} changed`);
  } finally {
    await store.close();
    // A failed teardown is reported without hiding the run's own error.
    await destroyHosts(setName).catch((err: Error) => console.error(`destroying host set ${setName}: ${err.message}`));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
