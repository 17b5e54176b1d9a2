import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { ChartFormSchema, type FormField } from './chart-form.js';

/** One installable version of a chart: a Helm chart directory plus its install form. */
export interface ChartVersion {
  version: string;
  /** The Helm chart directory helm installs. */
  dir: string;
  config: FormField[];
}

export interface Chart {
  name: string;
  description: string;
  /** Icon file (SVG or PNG) zcloud serves; undefined when the chart has none. */
  iconFile?: string;
  /** Installed only by zcloud (monitor, registry): not offered in a namespace's catalogue. */
  system: boolean;
  /** Newest first (semver order). */
  versions: ChartVersion[];
}

const ChartYamlSchema = z.object({ apiVersion: z.literal('v2'), name: z.string(), version: z.string(), description: z.string().default('') });
const FORM_FILE = 'zcloud-form.json';
const ICON_FILES = ['icon.svg', 'icon.png'];
const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The repository's `charts/` directory, found from this module in src/ and in dist/ alike. */
export function builtInChartDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find the zcloud package root (and its charts/)');
    dir = parent;
  }
  return path.join(dir, 'charts');
}

/** Orders versions like semver (numeric parts), newest first. */
function newestFirst(a: string, b: string): number {
  const parts = (v: string): number[] => v.split(/[.+-]/).map((p) => Number.parseInt(p, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (y[i] ?? 0) - (x[i] ?? 0);
  return 0;
}

/** Reads `dir/<name>/<version>/`; throws with the reason when the version is not a usable chart. */
function readVersion(chartName: string, version: string, dir: string): ChartVersion & { system: boolean; description: string } {
  const chartYaml = ChartYamlSchema.safeParse(yaml.load(readFileSync(path.join(dir, 'Chart.yaml'), 'utf8')));
  if (!chartYaml.success) throw new Error(`Chart.yaml: ${chartYaml.error.issues[0]?.path.join('.')}: ${chartYaml.error.issues[0]?.message}`);
  if (chartYaml.data.name !== chartName) throw new Error(`Chart.yaml names ${chartYaml.data.name}, its directory ${chartName}`);
  if (chartYaml.data.version !== version) throw new Error(`Chart.yaml has version ${chartYaml.data.version}, its directory ${version}`);
  if (!statSync(path.join(dir, 'templates')).isDirectory()) throw new Error('templates is not a directory');
  const form = ChartFormSchema.safeParse(JSON.parse(readFileSync(path.join(dir, FORM_FILE), 'utf8')));
  if (!form.success) throw new Error(`${FORM_FILE}: ${form.error.issues[0]?.path.join('.')}: ${form.error.issues[0]?.message}`);
  return { version, dir, config: form.data.config, system: form.data.system ?? false, description: chartYaml.data.description };
}

function subdirs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
}

/**
 * The charts zcloud offers: the built-in catalogue (`charts/<name>/<version>/` in the repo)
 * and, optionally, a user directory of the same layout (ZCLOUD_CHART_DIR), read once at start.
 * A user chart version that is broken (no or bad Chart.yaml, no templates, no or bad
 * zcloud-form.json, names that disagree) is skipped with a warning naming it; a user chart of
 * the same name as a built-in one is skipped too (built-in system charts must stay what zcloud
 * installs). Read-only after construction.
 */
export class ChartCatalog {
  readonly #charts = new Map<string, Chart>();

  constructor(options: { builtInDir: string; userDir?: string; logger: Logger }) {
    this.load(options.builtInDir, 'built-in', options.logger);
    if (options.userDir) this.load(options.userDir, 'user', options.logger);
  }

  private load(root: string, origin: 'built-in' | 'user', logger: Logger): void {
    for (const name of subdirs(root).sort()) {
      const chartDir = path.join(root, name);
      if (!NAME.test(name)) {
        logger.warn('chart skipped', { chart: name, dir: chartDir, origin, reason: 'the directory name is not a chart name' });
        continue;
      }
      if (this.#charts.has(name)) {
        logger.warn('chart skipped', { chart: name, dir: chartDir, origin, reason: 'a built-in chart has this name' });
        continue;
      }
      const versions: Array<ReturnType<typeof readVersion>> = [];
      for (const version of subdirs(chartDir)) {
        try {
          versions.push(readVersion(name, version, path.join(chartDir, version)));
        } catch (err) {
          // A built-in chart is part of zcloud: a broken one is a bug, not a user's mistake.
          if (origin === 'built-in') throw new Error(`built-in chart ${name} ${version}: ${(err as Error).message}`, { cause: err });
          logger.warn('chart version skipped', { chart: name, version, dir: path.join(chartDir, version), origin, reason: (err as Error).message });
        }
      }
      if (versions.length === 0) {
        logger.warn('chart skipped', { chart: name, dir: chartDir, origin, reason: 'no usable version' });
        continue;
      }
      versions.sort((a, b) => newestFirst(a.version, b.version));
      const icon = ICON_FILES.map((f) => path.join(chartDir, f)).find((f) => existsSync(f));
      this.#charts.set(name, {
        name,
        description: versions[0]!.description,
        iconFile: icon,
        system: versions.some((v) => v.system),
        versions: versions.map(({ version, dir, config }) => ({ version, dir, config })),
      });
    }
  }

  /** Charts users may install, by name. */
  list(): Chart[] {
    return [...this.#charts.values()].filter((c) => !c.system);
  }

  /** Any chart, system ones included. */
  get(name: string): Chart | undefined {
    return this.#charts.get(name);
  }

  version(name: string, version: string): ChartVersion | undefined {
    return this.#charts.get(name)?.versions.find((v) => v.version === version);
  }
}
