import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { ProvisioningLog } from '../../src/provisioning/provisioning-log.js';
import { tempDir } from '../helpers/zcloud.js';

describe('ProvisioningLog', () => {
  const at = (second: number) => new Date(Date.UTC(2026, 10, 26, 1, 0, second));

  it('keeps the newest lines per cluster, in the data dir too, and reads them back after a restart', () => {
    const dir = tempDir();
    const log = new ProvisioningLog(3, dir);
    for (let i = 0; i < 10; i++) log.append('c1', `step ${i}`, at(i));
    log.append('c2', 'other cluster', at(0));
    expect(log.lines('c1')).to.deep.equal(['2026-11-26T01:00:07.000Z step 7', '2026-11-26T01:00:08.000Z step 8', '2026-11-26T01:00:09.000Z step 9']);
    // Bounded on disk: never more than twice the lines kept.
    expect(readFileSync(path.join(dir, 'c1.log'), 'utf8').trimEnd().split('\n').length).to.be.at.most(6);
    const restarted = new ProvisioningLog(3, dir);
    expect(restarted.lines('c1')).to.deep.equal(log.lines('c1'));
    expect(restarted.lines('c2')).to.deep.equal(['2026-11-26T01:00:00.000Z other cluster']);
    restarted.forget('c1');
    expect(existsSync(path.join(dir, 'c1.log'))).to.equal(false);
    expect(new ProvisioningLog(3, dir).lines('c1')).to.deep.equal([]);
  });

  it('keeps one entry on one line and cuts a runaway message', () => {
    const log = new ProvisioningLog();
    log.append('c1', `first\nsecond ${'x'.repeat(5000)}`, at(0));
    const [line] = log.lines('c1');
    expect(line).to.not.include('\n');
    expect(line!.length).to.be.lessThan(4100);
    expect(line!.endsWith('…')).to.equal(true);
  });
});
