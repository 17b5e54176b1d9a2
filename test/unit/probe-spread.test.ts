import { expect } from 'chai';
import { untilNextProbe } from '../../controllers/cluster-health.js';

describe('cluster health probes: spread over the interval', () => {
  const INTERVAL = 10_000;
  const names = Array.from({ length: 100 }, (_, i) => `bench-${i}`);

  it('starts 100 clusters imported in the same second at spread phases, not in one burst', () => {
    const now = 1_764_000_000_000;
    const slots = names.map((name) => (now + untilNextProbe(name, INTERVAL, now)) % INTERVAL);
    const perSecond = new Array(10).fill(0);
    for (const slot of slots) perSecond[Math.floor(slot / 1000)]++;
    // 10 per second on average; a burst would put them all in one second.
    expect(Math.max(...perSecond)).to.be.at.most(20);
    expect(Math.min(...perSecond)).to.be.at.least(3);
  });

  it('keeps each cluster at its phase, every interval, and never probes back to back', () => {
    for (const name of names.slice(0, 10)) {
      let now = 1_764_000_000_123;
      const first = untilNextProbe(name, INTERVAL, now);
      expect(first).to.be.within(INTERVAL / 2, 1.5 * INTERVAL);
      now += first;
      for (let round = 0; round < 5; round++) {
        // The probe took 37 ms; the next one is on the same phase.
        const next = untilNextProbe(name, INTERVAL, now + 37);
        expect(next).to.equal(INTERVAL - 37);
        now += 37 + next;
      }
    }
  });
});
