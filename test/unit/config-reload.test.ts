import { expect } from 'chai';
import { parseWorkloadKey, workloadKey } from '../../controllers/config-reload.js';
import { advancedOptionsOf, configHash, metricAnnotations, normalizeAdvancedOptions, type ConfigSource } from '../../src/workloads/options.js';
import { podTemplateToKube } from '../../src/workloads/pod-template.js';

const template = podTemplateToKube(
  [
    {
      name: 'web',
      image: 'x',
      volumes: [
        { name: 'conf', type: 'configmap', mountPath: '/c' },
        { name: 'creds', type: 'secret', mountPath: '/s' },
      ],
    },
  ],
  { workload: 'web', claimVolume: () => undefined },
);

describe('config reload', () => {
  it('hashes the content of the mounted configmaps and secrets, and nothing else', () => {
    const sources: Record<string, ConfigSource | undefined> = { 'configmap/conf': { data: { a: '1', b: '2' } }, 'secret/creds': { data: { t: 'eA==' } } };
    const lookup = (type: string, name: string) => sources[`${type}/${name}`];
    const first = configHash(template, lookup);
    expect(first).to.match(/^[0-9a-f]{32}$/);
    sources['configmap/conf'] = { data: { b: '2', a: '1' } };
    expect(configHash(template, lookup), 'key order does not matter').to.equal(first);
    sources['configmap/other'] = { data: { z: '9' } };
    expect(configHash(template, lookup), 'unmounted configs do not count').to.equal(first);
    sources['secret/creds'] = { data: { t: 'eQ==' } };
    const second = configHash(template, lookup);
    expect(second).to.not.equal(first);
    sources['secret/creds'] = undefined;
    expect(configHash(template, lookup)).to.not.equal(second);
  });

  it('reads advanced options from the workload annotation, all off when absent or unreadable', () => {
    const workload = (text?: string) => ({ metadata: { name: 'w', ...(text ? { annotations: { 'zcloud.cn/advanced-options': text } } : {}) } });
    expect(advancedOptionsOf(workload())).to.deep.equal({ deletePVsWhenDeleteWorkload: false, reloadWhenConfigChange: false });
    expect(advancedOptionsOf(workload('{not json'))).to.deep.equal({ deletePVsWhenDeleteWorkload: false, reloadWhenConfigChange: false });
    expect(advancedOptionsOf(workload(JSON.stringify({ reloadWhenConfigChange: true, exposedMetric: { port: 9 } })))).to.deep.equal({
      deletePVsWhenDeleteWorkload: false,
      reloadWhenConfigChange: true,
      exposedMetric: { port: 9, path: '/metrics' },
    });
    expect(metricAnnotations(normalizeAdvancedOptions({ exposedMetric: { port: 9, path: '/m' } }))).to.deep.equal({
      'prometheus.io/scrape': 'true',
      'prometheus.io/port': '9',
      'prometheus.io/path': '/m',
    });
  });

  it('keys workloads as cluster/kind/namespace/name and rejects other keys', () => {
    const ref = { cluster: 'c1', kind: 'statefulsets' as const, namespace: 'ns', name: 'db' };
    expect(parseWorkloadKey(workloadKey(ref))).to.deep.equal(ref);
    expect(parseWorkloadKey('c1/pods/ns/p')).to.equal(undefined);
    expect(parseWorkloadKey('c1/deployments/ns')).to.equal(undefined);
  });
});
