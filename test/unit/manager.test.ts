import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { Controller, type Reconciler } from '../../src/controller.js';
import { ObjectEvents } from '../../src/kube/object-events.js';
import { createLogger } from '../../src/logger.js';
import { Manager, untilAborted, type Phase, type Runnable } from '../../src/manager.js';

const quiet = () => createLogger({ level: 'error', stream: new Writable({ write: (_chunk, _enc, done) => done() }) });

/** A runnable that records when it starts and stops, taking `stopMs` to stop. */
function recorder(name: string, log: string[], stopMs = 0): Runnable {
  return {
    name,
    async start(signal) {
      log.push(`start ${name}`);
      await untilAborted(signal);
      await sleep(stopMs);
      log.push(`stop ${name}`);
    },
  };
}

describe('Manager', () => {
  it('starts phase by phase and stops in reverse, each phase only after the later ones stopped', async () => {
    const log: string[] = [];
    const manager = new Manager({ logger: quiet() });
    const phases: Phase[] = ['server', 'controllers', 'caches', 'store'];
    // Added out of order, and the later phases are the slow ones: order must not come from timing.
    for (const phase of phases) manager.add(phase, recorder(phase, log, phase === 'server' ? 30 : phase === 'controllers' ? 20 : 0));
    manager.start();
    expect(manager.ready).to.equal(true);
    await sleep(5);
    expect(log).to.deep.equal(['start store', 'start caches', 'start controllers', 'start server']);
    await manager.stop();
    expect(manager.ready).to.equal(false);
    expect(log.slice(4)).to.deep.equal(['stop server', 'stop controllers', 'stop caches', 'stop store']);
    await manager.done();
  });

  it('stops everything when one runnable fails, and done rejects with that failure', async () => {
    const log: string[] = [];
    const manager = new Manager({ logger: quiet() });
    manager.add('caches', recorder('cache', log));
    manager.add('controllers', { name: 'broken', start: async () => (await sleep(5), Promise.reject(new Error('boom'))) });
    manager.start();
    let failure: Error | undefined;
    await manager.done().catch((err: Error) => (failure = err));
    expect(failure?.message).to.equal('broken failed: boom');
    expect(log).to.deep.equal(['start cache', 'stop cache']);
  });

  it('bounds a phase that does not stop, and still stops the earlier phases', async () => {
    const log: string[] = [];
    const manager = new Manager({ logger: quiet(), phaseStopTimeoutMs: 50 });
    manager.add('server', { name: 'stuck', start: () => new Promise<void>(() => undefined) });
    manager.add('store', recorder('store', log));
    manager.start();
    const began = Date.now();
    await manager.stop();
    expect(Date.now() - began).to.be.within(40, 1000);
    expect(log).to.deep.equal(['start store', 'stop store']);
  });
});

describe('Controller as a Runnable', () => {
  it('enqueues what it watches, reconciles with the stop signal, drops queued keys at stop, and unsubscribes', async () => {
    const events = new ObjectEvents(quiet());
    const seen: string[] = [];
    let release!: () => void;
    let signalOfInFlight: AbortSignal | undefined;
    const reconciler: Reconciler = {
      async reconcile(key, signal) {
        seen.push(key);
        if (key === 'slow') {
          signalOfInFlight = signal;
          await new Promise<void>((resolve) => (release = resolve));
        }
        return {};
      },
    };
    const clusters = { onObjectEvent: events.subscribe.bind(events), on: () => () => true } as never;
    const controller = new Controller({
      name: 'test',
      reconciler,
      logger: quiet(),
      clusters,
      watch: (on) => {
        on.objects('configmaps', (_cluster, object) => object.metadata.name);
        on.initial(async () => ['first']);
      },
    });
    const stop = new AbortController();
    const running = controller.start(stop.signal);
    const publish = (name: string) => events.publish('c1', 'configmaps', { type: 'added', object: { metadata: { name } } });
    await sleep(10);
    expect(seen).to.deep.equal(['first']);
    publish('slow');
    await sleep(10);
    expect(seen).to.deep.equal(['first', 'slow']);
    publish('queued-behind');
    stop.abort();
    expect(signalOfInFlight?.aborted).to.equal(true);
    release();
    await running;
    expect(seen, 'a key still queued at stop is not started').to.deep.equal(['first', 'slow']);
    publish('after-stop');
    expect(controller.queue.length).to.equal(0);
  });
});
