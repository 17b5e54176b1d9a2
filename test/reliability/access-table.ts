/**
 * The authorization matrix of both APIs, written once (issue 16, R4): for every kind and verb,
 * what each caller gets. `allowed` means the request passes authorization: it may still answer
 * 404 (no such object), 405 (no such method) or 422 (empty body), but never 401/403 or 5xx;
 * `denied` is 403; `anonymous` callers get 401 everywhere but the public routes.
 *
 * Callers: admin; `member`, whose one project is namespace `granted` of cluster `rel`;
 * `outsider`, with no project at all.
 */
export type Expectation = 'allowed' | 'denied';
export type Caller = 'admin' | 'member' | 'outsider';
export type Verb = 'list' | 'get' | 'create' | 'update' | 'delete' | `action:${string}`;

/** member and outsider's expectation for a verb; admin is always allowed. */
type Row = Partial<Record<Verb | 'reads' | 'writes', [member: Expectation, outsider: Expectation]>>;

const READS: ReadonlySet<string> = new Set(['list', 'get']);

/** Kinds below a namespace: all of it for a project holder of that namespace, none for others. */
const NAMESPACED: Row = { reads: ['allowed', 'denied'], writes: ['allowed', 'denied'] };
/** Cluster-level kinds: read by anyone with a project in the cluster, changed by admin only. */
const CLUSTER_LEVEL: Row = { reads: ['allowed', 'denied'], writes: ['denied', 'denied'] };

export const ZCLOUD_TABLE: Readonly<Record<string, Row>> = {
  // Lists are filtered to what the caller may see, so listing is open; the rest is admin's.
  cluster: { list: ['allowed', 'allowed'], get: ['allowed', 'denied'], writes: ['denied', 'denied'] },
  namespace: { list: ['allowed', 'denied'], get: ['allowed', 'denied'], writes: ['denied', 'denied'] },
  node: CLUSTER_LEVEL,
  nodenetwork: CLUSTER_LEVEL,
  podnetwork: CLUSTER_LEVEL,
  servicenetwork: CLUSTER_LEVEL,
  persistentvolume: CLUSTER_LEVEL,
  storageclass: CLUSTER_LEVEL,
  storagecluster: CLUSTER_LEVEL,
  blockdevice: CLUSTER_LEVEL,
  configmap: NAMESPACED,
  event: NAMESPACED,
  cronjob: NAMESPACED,
  daemonset: NAMESPACED,
  deployment: NAMESPACED,
  ingress: NAMESPACED,
  innerservice: NAMESPACED,
  job: NAMESPACED,
  limitrange: NAMESPACED,
  outerservice: NAMESPACED,
  persistentvolumeclaim: NAMESPACED,
  pod: NAMESPACED,
  resourcequota: NAMESPACED,
  secret: NAMESPACED,
  service: NAMESPACED,
  statefulset: NAMESPACED,
  udpingress: NAMESPACED,
  application: NAMESPACED,
  chart: NAMESPACED,
  monitor: CLUSTER_LEVEL,
  // Top-level but naming a cluster in its body: admin's only.
  registry: { reads: ['denied', 'denied'], writes: ['denied', 'denied'] },
  // Users see themselves in the list; the item addressed here is another user (admin).
  user: { list: ['allowed', 'allowed'], writes: ['denied', 'denied'], get: ['denied', 'denied'], 'action:login': ['allowed', 'allowed'] },
  // Anyone may file a quota request and see their own; only admin approves.
  userquota: { reads: ['allowed', 'allowed'], writes: ['allowed', 'allowed'], 'action:approval': ['denied', 'denied'], 'action:reject': ['denied', 'denied'] },
  auditlog: { reads: ['denied', 'denied'], writes: ['denied', 'denied'] },
};

/** Routes anonymous callers may use: the login actions. */
export const PUBLIC: ReadonlySet<string> = new Set(['user action:login', 'osp post /login']);

/** What `caller` gets for `verb` on `kind`; undefined when the table has no row (a route added without one fails the walk). */
export function expectationOf(kind: string, verb: Verb, caller: Caller): Expectation | undefined {
  if (caller === 'admin') return 'allowed';
  const row = ZCLOUD_TABLE[kind];
  if (!row) return undefined;
  const pair = row[verb] ?? (verb.startsWith('action:') ? row.writes : READS.has(verb) ? row.reads : row.writes);
  return pair?.[caller === 'member' ? 0 : 1];
}

/** The OSP routes, by method and path as OSP_ROUTES declares them. */
export const OSP_TABLE: Readonly<Record<string, [member: Expectation, outsider: Expectation]>> = {
  'post /login': ['allowed', 'allowed'],
  'post /users': ['denied', 'denied'],
  'get /users': ['allowed', 'allowed'],
  // The user addressed is another one (admin).
  'put /users/:name': ['denied', 'denied'],
  'get /pods/:cluster': ['allowed', 'denied'],
  'get /pods/:cluster/:namespace/:name': ['allowed', 'denied'],
};

/** The websocket endpoints (`/apis/ws.zcloud.cn/v1`), refused before the upgrade: accepted is 101. */
export const STREAM_TABLE: Readonly<Record<string, [member: Expectation, outsider: Expectation]>> = {
  // Events are filtered to the caller's namespaces, so anyone with a project in the cluster may open them.
  '/clusters/rel/event': ['allowed', 'denied'],
  '/watch?url=/apis/zcloud.cn/v1/clusters/rel/namespaces/granted/configmaps': ['allowed', 'denied'],
  '/clusters/rel/zkelog': ['denied', 'denied'],
  // The pod is absent: a member gets past authorization to a 404, an outsider never learns that.
  '/clusters/rel/namespaces/granted/pods/web/containers/app/log': ['allowed', 'denied'],
  '/clusters/rel/namespaces/granted/pods/web/containers/app/shell': ['allowed', 'denied'],
  '/clusters/rel/shell': ['denied', 'denied'],
};
