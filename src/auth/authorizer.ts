import { ALL_NAMESPACES, type Principal } from '../users.js';

export type Verb = 'list' | 'get' | 'create' | 'update' | 'delete' | 'action';

/** One step of a resource path: `clusters/c1` is `{ kind: 'cluster', id: 'c1' }`. */
export interface PathStep {
  kind: string;
  id: string;
}

/** "May this user do `verb` on the resource `kind` (id `id`) below `ancestry`?" */
export interface AccessRequest {
  verb: Verb;
  kind: string;
  ancestry: readonly PathStep[];
  id?: string;
  action?: string;
}

/**
 * `visible`, when present, narrows the grant to the objects it accepts: lists are filtered by
 * it and a single object it rejects is forbidden.
 */
export type Decision =
  | { allowed: true; visible?: (object: Readonly<Record<string, unknown>>) => boolean }
  | { allowed: false; reason: string };

const allow: Decision = { allowed: true };
const deny = (reason: string): Decision => ({ allowed: false, reason });

export function holdsNamespace(user: Principal, cluster: string, namespace: string): boolean {
  return user.projects.some((p) => p.cluster === cluster && (p.namespace === namespace || p.namespace === ALL_NAMESPACES));
}

export function holdsCluster(user: Principal, cluster: string): boolean {
  return user.projects.some((p) => p.cluster === cluster);
}

const READS: ReadonlySet<Verb> = new Set(['list', 'get']);

/** Kinds below a cluster that only admin may read: the provisioning log names hosts, addresses and errors of the cluster's machines. */
const ADMIN_ONLY_CLUSTER_KINDS: ReadonlySet<string> = new Set(['zkelog']);

/**
 * Rules for top-level kinds a normal user may touch. Anything not listed is admin-only.
 * `ownerField` names the field holding the owning user's name.
 */
const topLevelRules: Record<string, (user: Principal, req: AccessRequest) => Decision> = {
  user: (user, req) => {
    if (req.verb === 'list') return { allowed: true, visible: (o) => o.id === user.name };
    if (req.verb === 'get' && req.id === user.name) return allow;
    // resetPassword (zcloud.cn) and updateProfile (OSP: email/password) touch only one's own account.
    if (req.verb === 'action' && (req.action === 'resetPassword' || req.action === 'updateProfile') && req.id === user.name) return allow;
    return deny('only admin may manage other users');
  },
  userquota: (user, req) => {
    if (req.verb === 'create') return allow;
    if (req.verb === 'action') return deny(`only admin may ${req.action ?? 'act on'} a quota request`);
    return { allowed: true, visible: (o) => o.userName === user.name };
  },
};

/**
 * The one authorizer. Admin may do everything. A normal user may read and write inside the
 * namespaces its projects grant (`_all` grants every namespace of that cluster), read
 * cluster-level resources of clusters where it holds a project, use the top-level kinds
 * `topLevelRules` opens to it, and nothing else.
 */
export function authorize(user: Principal, req: AccessRequest): Decision {
  if (user.isAdmin) return allow;
  const cluster = req.kind === 'cluster' ? req.id : req.ancestry.find((s) => s.kind === 'cluster')?.id;
  const namespace = req.ancestry.find((s) => s.kind === 'namespace')?.id;

  if (req.kind === 'cluster') {
    if (req.verb === 'list') return { allowed: true, visible: (o) => holdsCluster(user, String(o.id)) };
    if (req.verb === 'get' && cluster && holdsCluster(user, cluster)) return allow;
    return deny('only admin may manage clusters');
  }
  if (ADMIN_ONLY_CLUSTER_KINDS.has(req.kind)) return deny(`only admin may read ${req.kind}`);
  if (cluster === undefined) {
    const rule = topLevelRules[req.kind];
    return rule ? rule(user, req) : deny(`only admin may access ${req.kind}`);
  }
  if (namespace !== undefined) {
    return holdsNamespace(user, cluster, namespace) ? allow : deny(`no project grants namespace ${namespace} of cluster ${cluster}`);
  }
  if (req.kind === 'namespace') {
    if (req.verb === 'list') {
      return holdsCluster(user, cluster)
        ? { allowed: true, visible: (o) => holdsNamespace(user, cluster, String(o.id)) }
        : deny(`no project in cluster ${cluster}`);
    }
    if (req.verb === 'get' && req.id && holdsNamespace(user, cluster, req.id)) return allow;
    return deny(`only admin may ${req.verb} namespaces`);
  }
  if (READS.has(req.verb) && holdsCluster(user, cluster)) return allow;
  return READS.has(req.verb)
    ? deny(`no project in cluster ${cluster}`)
    : deny(`only admin may change cluster-level ${req.kind} resources`);
}
