import { expect } from 'chai';
import { WorkQueue } from '../../src/work-queue.js';

describe('WorkQueue', () => {
  it('merges adds of a waiting key', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    expect(queue.length).to.equal(2);
    expect(await queue.get()).to.equal('a');
    expect(await queue.get()).to.equal('b');
  });

  it('never hands one key to two workers; an add during processing requeues on done', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    const key = await queue.get();
    queue.add('a');
    expect(queue.length).to.equal(0); // held back while 'a' is processing
    let second: string | undefined;
    const waiting = queue.get().then((k) => (second = k));
    await new Promise((r) => setTimeout(r, 10));
    expect(second).to.equal(undefined);
    queue.done(key!);
    await waiting;
    expect(second).to.equal('a');
  });

  it('backs off a failing key exponentially and forget resets it', () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5].map(() => queue.addRateLimited('k'))).to.deep.equal([100, 200, 400, 800, 1000]);
    expect(queue.failures('k')).to.equal(5);
    queue.forget('k');
    expect(queue.addRateLimited('k')).to.equal(100);
    queue.shutDown();
  });

  it('addAfter delivers later, keeping the earliest of several delays', async () => {
    const queue = new WorkQueue();
    const started = Date.now();
    queue.addAfter('k', 200);
    queue.addAfter('k', 30);
    expect(await queue.get()).to.equal('k');
    expect(Date.now() - started).to.be.lessThan(150);
    queue.shutDown();
  });

  it('shutDown drains what is queued, then get returns undefined', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.shutDown();
    queue.add('b');
    expect(await queue.get()).to.equal('a');
    expect(await queue.get()).to.equal(undefined);
  });
});
