import { expect } from 'chai';
import { ZcloudMetrics } from '../../src/metrics.js';
import { WorkQueue } from '../../src/work-queue.js';
import { parseExposition, valueOf } from '../helpers/metrics.js';

describe('ZcloudMetrics', () => {
  const samples = async (metrics: ZcloudMetrics) => parseExposition((await metrics.scrape()).body);

  it('keeps each instance in its own registry', async () => {
    const a = new ZcloudMetrics();
    const b = new ZcloudMetrics();
    a.reconcileTotal.inc({ controller: 'x', result: 'success' });
    expect(valueOf(await samples(a), 'controller_runtime_reconcile_total', { controller: 'x' })).to.equal(1);
    expect(valueOf(await samples(b), 'controller_runtime_reconcile_total', { controller: 'x' })).to.equal(0);
  });

  it('reports a work queue: adds (a merged one is not), depth, retries, in-flight work and durations', async () => {
    const metrics = new ZcloudMetrics();
    const queue = new WorkQueue({ baseDelayMs: 60_000 }, (state) => metrics.workQueue('q', state));
    queue.add('a');
    queue.add('a');
    queue.add('b');
    let s = await samples(metrics);
    expect(valueOf(s, 'workqueue_adds_total', { name: 'q' })).to.equal(2);
    expect(valueOf(s, 'workqueue_depth', { name: 'q' })).to.equal(2);
    const key = (await queue.get())!;
    await new Promise((r) => setTimeout(r, 20));
    s = await samples(metrics);
    expect(valueOf(s, 'workqueue_depth', { name: 'q' })).to.equal(1);
    expect(valueOf(s, 'workqueue_queue_duration_seconds_count', { name: 'q' })).to.equal(1);
    expect(valueOf(s, 'workqueue_longest_running_processor_seconds', { name: 'q' })).to.be.at.least(0.015);
    expect(valueOf(s, 'workqueue_unfinished_work_seconds', { name: 'q' })).to.be.at.least(0.015);
    queue.addRateLimited(key);
    queue.done(key);
    s = await samples(metrics);
    expect(valueOf(s, 'workqueue_retries_total', { name: 'q' })).to.equal(1);
    expect(valueOf(s, 'workqueue_work_duration_seconds_count', { name: 'q' })).to.equal(1);
    expect(valueOf(s, 'workqueue_longest_running_processor_seconds', { name: 'q' })).to.equal(0);
    queue.shutDown();
  });

  it('rebuilds informer series at each scrape, so a removed cluster leaves none', async () => {
    const metrics = new ZcloudMetrics();
    let clusters = ['c1', 'c2'];
    metrics.observeInformers(() =>
      clusters.map((cluster) => ({ cluster, kind: 'pods', lists: 1, watches: 2, goneRelists: 0, errors: 0, events: 5, objects: 3, synced: true, lastContactAt: Date.now() })),
    );
    let s = await samples(metrics);
    expect(valueOf(s, 'zcloud_informer_events_total', { cluster: 'c2', kind: 'pods' })).to.equal(5);
    expect(valueOf(s, 'zcloud_informer_synced')).to.equal(2);
    clusters = ['c1'];
    s = await samples(metrics);
    expect(s.filter((x) => x.labels.cluster === 'c2')).to.deep.equal([]);
  });
});
