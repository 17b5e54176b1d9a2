import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { ZcloudMetrics } from '../../src/metrics.js';

const dir = path.resolve(import.meta.dirname, '../../deploy/observability');

/** Metric names a PromQL expression reads (ours, client-go's and the process defaults). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b((?:zcloud|workqueue|controller_runtime|process|nodejs)_[a-z0-9_]+)/g)].map(([, name]) => name);
}

describe('deploy/observability', () => {
  let exported: Set<string>;

  before(async () => {
    const metrics = new ZcloudMetrics();
    exported = new Set((await metrics.registry.getMetricsAsJSON()).map((m) => m.name));
  });

  const known = (name: string): boolean => exported.has(name) || exported.has(name.replace(/_(bucket|count|sum)$/, ''));

  it('alerts on cluster unreachable, informer not synced, workqueue backing up and reconcile errors, over exported metrics only', () => {
    const rule = yaml.load(readFileSync(path.join(dir, 'zcloud-alerts.yaml'), 'utf8')) as {
      kind: string;
      spec: { groups: Array<{ rules: Array<{ alert: string; expr: string; for: string }> }> };
    };
    expect(rule.kind).to.equal('PrometheusRule');
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).to.include.members(['ZcloudClusterUnreachable', 'ZcloudInformerNotSynced', 'ZcloudWorkqueueBackingUp', 'ZcloudReconcileErrors']);
    expect(rules.find((r) => r.alert === 'ZcloudInformerNotSynced')?.for).to.equal('5m');
    for (const r of rules) {
      const names = metricNames(r.expr);
      expect(names, r.alert).to.not.deep.equal([]);
      expect(names.filter((n) => !known(n)), r.alert).to.deep.equal([]);
    }
  });

  it('has a Grafana dashboard whose every query reads exported metrics', () => {
    const dashboard = JSON.parse(readFileSync(path.join(dir, 'zcloud-dashboard.json'), 'utf8')) as {
      uid: string;
      panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
    };
    expect(dashboard.uid).to.equal('zcloud-overview');
    const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr })));
    expect(queries.length).to.be.greaterThan(15);
    for (const { title, expr } of queries) expect(metricNames(expr).filter((n) => !known(n)), title).to.deep.equal([]);
  });
});
