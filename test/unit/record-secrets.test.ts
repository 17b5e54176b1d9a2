import { expect } from 'chai';
import { referencedKeys, resolveReference, splitSecrets } from '../../src/store/record-secrets.js';

/** How a cluster record's secret fields become references to its Secret's keys. */
describe('record secrets: splitting a record into object spec and Secret data', () => {
  const record = (kubeconfig: string, password: string) => ({ name: 'c', source: { kind: 'kubeconfig', kubeconfig, registries: [{ url: 'r', password }] } });

  it('replaces every secret field by a reference the data resolves, keeping the rest', () => {
    const { spec, data } = splitSecrets(record('kc-1', 'pw-1'));
    const source = (spec as { source: { kubeconfig: string; kind: string; registries: { url: string; password: string }[] } }).source;
    expect(source.kind).to.equal('kubeconfig');
    expect(source.registries[0]!.url).to.equal('r');
    expect(resolveReference(source.kubeconfig, data)).to.equal('kc-1');
    expect(resolveReference(source.registries[0]!.password, data)).to.equal('pw-1');
    expect(JSON.stringify(spec)).to.not.include('kc-1').and.not.include('pw-1');
    expect(Object.keys(data).map((key) => key.replace(/-[0-9a-f]{12}$/, ''))).to.have.members(['source.kubeconfig', 'source.registries.0.password']);
  });

  it('keeps the key of an unchanged value and gives a changed one a key never used before', () => {
    const first = splitSecrets(record('kc-1', 'pw-1'));
    const second = splitSecrets(record('kc-1', 'pw-2'), first);
    const kept = [...referencedKeys(first.spec)].filter((key) => referencedKeys(second.spec).has(key));
    expect(kept).to.have.length(1);
    expect(first.data[kept[0]!]).to.equal('kc-1');
    // Back to the first password: a new key, not the one the first object named (it may be removed meanwhile).
    const third = splitSecrets(record('kc-1', 'pw-1'), second);
    const passwordKey = (split: { data: Record<string, string> }) => Object.keys(split.data).find((key) => key.startsWith('source.registries'))!;
    expect(new Set([passwordKey(first), passwordKey(second), passwordKey(third)]).size).to.equal(3);
  });
});
