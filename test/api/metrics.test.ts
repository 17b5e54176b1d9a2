import { expect } from 'chai';
import { parseExposition, samplesOf, valueOf } from '../helpers/metrics.js';
import { API, sha1, startTestZcloud, type TestZcloud } from '../helpers/zcloud.js';

const METRICS_TOKEN = 'prometheus-scrape-token-0123456789';

describe('GET /metrics', () => {
  let zcloud: TestZcloud;
  let admin: string;

  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_METRICS_TOKEN: METRICS_TOKEN } });
    admin = await zcloud.adminToken();
  });
  after(() => zcloud.close());

  const scrape = async () => {
    const res = await zcloud.request('GET', '/metrics', { token: METRICS_TOKEN });
    expect(res.status, res.text).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    return parseExposition(res.text);
  };

  it('is refused without a token, to a non-admin, and to a wrong token', async () => {
    await zcloud.request('POST', `${API}/users`, { token: admin, body: { name: 'metrics-reader', password: sha1('pw'), projects: [] } });
    const user = await zcloud.login('metrics-reader', sha1('pw'));
    expect((await zcloud.request('GET', '/metrics')).status).to.equal(401);
    expect((await zcloud.request('GET', '/metrics', { token: 'wrong-token-wrong-token-wrong' })).status).to.equal(401);
    expect((await zcloud.request('GET', '/metrics', { token: user })).status).to.equal(403);
    expect((await zcloud.request('GET', '/metrics', { token: admin })).status).to.equal(200);
  });

  it('exports process defaults, the controllers queues and the metrics defined ahead of their code', async () => {
    const res = await zcloud.request('GET', '/metrics', { token: METRICS_TOKEN });
    for (const name of [
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_seconds',
      'workqueue_depth',
      'workqueue_adds_total',
      'workqueue_retries_total',
      'workqueue_queue_duration_seconds',
      'workqueue_work_duration_seconds',
      'workqueue_longest_running_processor_seconds',
      'workqueue_unfinished_work_seconds',
      'controller_runtime_reconcile_total',
      'controller_runtime_reconcile_time_seconds',
      'zcloud_cluster_health_probe_duration_seconds',
      'zcloud_provisioning_step_duration_seconds',
      'zcloud_websocket_connections',
      'zcloud_informer_synced',
    ]) {
      expect(res.text, name).to.include(`# TYPE ${name} `);
    }
    const samples = parseExposition(res.text);
    for (const name of ['cluster-health', 'config-reload', 'userquota']) {
      expect(samplesOf(samples, 'workqueue_depth', { name }), name).to.have.length(1);
    }
  });

  it('counts requests by route template, method and status', async () => {
    const before = valueOf(await scrape(), 'zcloud_http_requests_total', { route: `${API}/users/{user_id}`, method: 'GET', status: '200' });
    await zcloud.request('GET', `${API}/users/admin`, { token: admin });
    await zcloud.request('GET', `${API}/users/admin`, { token: admin });
    const after = await scrape();
    expect(valueOf(after, 'zcloud_http_requests_total', { route: `${API}/users/{user_id}`, method: 'GET', status: '200' })).to.equal(before + 2);
    expect(valueOf(after, 'zcloud_http_request_duration_seconds_count', { route: `${API}/users/{user_id}`, method: 'GET', status: '200' })).to.be.at.least(2);
  });

  it('keeps label cardinality bounded after 1,000 requests to distinct object names', async function () {
    this.timeout(60_000);
    const seriesBefore = samplesOf(await scrape(), 'zcloud_http_requests_total').length;
    const names = Array.from({ length: 1000 }, (_, i) => `ghost-${i}`);
    for (let i = 0; i < names.length; i += 50) {
      await Promise.all(
        names.slice(i, i + 50).flatMap((name) => [
          zcloud.request('GET', `${API}/users/${name}`, { token: admin }),
          zcloud.request('GET', `/osp/api/pods/${name}/ns/${name}`, { token: admin }),
          zcloud.request('GET', `/no/such/${name}`),
        ]),
      );
    }
    const res = await zcloud.request('GET', '/metrics', { token: METRICS_TOKEN });
    const series = samplesOf(parseExposition(res.text), 'zcloud_http_requests_total');
    // At most: users/{user_id} 404, osp pods 404, unmatched 404, and the scrape itself.
    expect(series.length - seriesBefore).to.be.at.most(4);
    expect(res.text).not.to.match(/ghost-\d/);
    expect(valueOf(parseExposition(res.text), 'zcloud_http_requests_total', { route: 'unmatched', status: '404' })).to.be.at.least(1000);
  });
});

describe('GET /metrics on its own port', () => {
  let zcloud: TestZcloud;

  before(async () => {
    zcloud = await startTestZcloud({ env: { ZCLOUD_METRICS_PORT: '0', ZCLOUD_METRICS_TOKEN: METRICS_TOKEN } });
  });
  after(() => zcloud.close());

  it('serves /metrics only there, with the token', async () => {
    const port = zcloud.running.metricsPort;
    expect(port).to.be.a('number').and.not.equal(zcloud.running.port);
    expect((await zcloud.request('GET', '/metrics', { token: METRICS_TOKEN })).status).to.equal(404);
    const url = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(url)).status).to.equal(401);
    const res = await fetch(url, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).to.equal(200);
    expect(await res.text()).to.include('# TYPE workqueue_depth gauge');
  });
});
