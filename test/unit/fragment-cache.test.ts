import { expect } from 'chai';
import { FragmentCache } from '../../api/framework/fragment-cache.js';

describe('FragmentCache', () => {
  const fragment = (id: string, size: number) => ({ id, rest: 'x'.repeat(size) });

  it('reuses a fragment while the resourceVersion is the same and remakes it when it changes', () => {
    const cache = new FragmentCache(1000);
    let made = 0;
    const make = () => (made++, fragment('a', 10));
    const first = cache.get('pod', 'uid-a', '1', make);
    expect(cache.get('pod', 'uid-a', '1', make)).to.equal(first);
    expect(made).to.equal(1);
    cache.get('pod', 'uid-a', '2', make);
    expect(made).to.equal(2);
    expect(cache.size, 'the old version replaced, not kept beside').to.equal(1);
    cache.get('other-view', 'uid-a', '2', make);
    expect(made, 'views are apart').to.equal(3);
  });

  it('stays within its bound, dropping the entries stored first', () => {
    const cache = new FragmentCache(100);
    for (let i = 0; i < 10; i++) cache.get('pod', `uid-${i}`, '1', () => fragment(`p${i}`, 28));
    expect(cache.chars).to.be.at.most(100);
    expect(cache.size).to.equal(3);
    let remade = false;
    cache.get('pod', 'uid-0', '1', () => ((remade = true), fragment('p0', 28)));
    expect(remade).to.equal(true);
    const none = new FragmentCache(0);
    none.get('pod', 'u', '1', () => fragment('p', 5));
    expect(none.size).to.equal(0);
  });
});
