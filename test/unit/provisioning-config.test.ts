import { expect } from 'chai';
import { loadConfig } from '../../src/config.js';

describe('config: provisioning settings', () => {
  it('defaults: 2 parallel runs, snapshots every 12 h keeping 6, a daily certificate check', () => {
    const config = loadConfig({});
    expect(config).to.include({ provisioningParallelRuns: 2, etcdSnapshotSchedule: '0 */12 * * *', etcdSnapshotRetention: 6, certCheckSchedule: '30 3 * * *' });
  });

  it('refuses a schedule node-cron cannot read and a retention of 0, naming the key', () => {
    expect(() => loadConfig({ ZCLOUD_ETCD_SNAPSHOT_SCHEDULE: 'every day' })).to.throw(/ZCLOUD_ETCD_SNAPSHOT_SCHEDULE/);
    expect(() => loadConfig({ ZCLOUD_ETCD_SNAPSHOT_RETENTION: '0' })).to.throw(/ZCLOUD_ETCD_SNAPSHOT_RETENTION/);
    expect(loadConfig({ ZCLOUD_CERT_CHECK_SCHEDULE: '*/2 * * * * *', ZCLOUD_PROVISIONING_PARALLEL_RUNS: '4' })).to.include({ certCheckSchedule: '*/2 * * * * *', provisioningParallelRuns: 4 });
  });
});
