import { expect } from 'chai';
import { ResourceRegistry } from '../../api/framework/registry.js';
import { routeTemplate, UNMATCHED_ROUTE } from '../../api/metrics-endpoint.js';
import { allResources } from '../../api/resources/index.js';

describe('routeTemplate (the route label of HTTP metrics)', () => {
  const registry = new ResourceRegistry(allResources);
  const API = '/apis/zcloud.cn/v1';

  it('replaces every id of a zcloud.cn path with its placeholder', () => {
    expect(routeTemplate(registry, `${API}/users`)).to.equal(`${API}/users`);
    expect(routeTemplate(registry, `${API}/users/alice`)).to.equal(`${API}/users/{user_id}`);
    expect(routeTemplate(registry, `${API}/clusters/c1/namespaces/ns/deployments/web/pods/web-0`)).to.equal(
      `${API}/clusters/{cluster_id}/namespaces/{namespace_id}/deployments/{deployment_id}/pods/{pod_id}`,
    );
  });

  it('matches OSP routes by their Express template', () => {
    expect(routeTemplate(registry, '/osp/api/pods/c1')).to.equal('/osp/api/pods/:cluster');
    expect(routeTemplate(registry, '/osp/api/pods/c1/ns/p')).to.equal('/osp/api/pods/:cluster/:namespace/:name');
    expect(routeTemplate(registry, '/osp/api/users/bob')).to.equal('/osp/api/users/:name');
  });

  it('folds unknown collections, unknown paths and malformed encodings into one label', () => {
    for (const path of [`${API}/nosuch/x`, `${API}/users/%E0%A4%A`, '/osp/api/nosuch', '/wp-admin/login.php', `${API}`]) {
      expect(routeTemplate(registry, path), path).to.equal(UNMATCHED_ROUTE);
    }
    expect(routeTemplate(registry, '/docs/swagger-ui.css')).to.equal('/docs/*');
    expect(routeTemplate(registry, '/metrics')).to.equal('/metrics');
  });
});
