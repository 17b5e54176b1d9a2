import type { Chart } from '../../src/apps/chart-catalog.js';
import { defineResource, type ApiObject } from '../framework/resource.js';

/** Where zcloud serves a chart's icon (api/chart-icons.ts); public, like the console's assets. */
export const CHART_ICON_PREFIX = '/assets/charts';

export function chartIconUrl(chart: Chart | undefined): string {
  return chart?.iconFile ? `${CHART_ICON_PREFIX}/${chart.name}` : '';
}

/** The catalogue entry as the seed shows it: versions newest first, each with its install form. */
export function chartToApi(chart: Chart): ApiObject {
  return {
    id: chart.name,
    name: chart.name,
    description: chart.description,
    icon: chartIconUrl(chart),
    versions: chart.versions.map((v) => ({ version: v.version, config: v.config })),
  };
}

/**
 * The charts a namespace's users may install (system charts are zcloud's own: see monitor and
 * registry). The same catalogue under every namespace; read-only.
 */
export const chartResource = defineResource({
  kind: 'chart',
  parents: ['namespace'],
  list: async (ctx) => ctx.services.catalog.list().map(chartToApi),
  get: async (ctx, id) => {
    const chart = ctx.services.catalog.get(id);
    return chart && !chart.system ? chartToApi(chart) : undefined;
  },
});
