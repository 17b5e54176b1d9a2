import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import { execIn, type DockerCallOptions } from './containers.js';
import type { HostConnection } from './host-connection.js';
import { etcdBootstrapJoin, etcdctlCommand, etcdMemberName, etcdPeerUrl, hasRole } from './node-plan.js';
import type { EtcdJoin } from './step-plan.js';

/**
 * How an etcd member of a provisioned cluster starts (its EtcdJoin), decided once, before its
 * first start, and kept in the journal. The members of a new cluster start together (`new`, the
 * spec's etcd nodes); a node added to a running cluster is first `member add`ed through a member
 * that answers, then starts `existing` with the members of that moment.
 */

export interface EtcdMember {
  id: string;
  /** Empty until the member has started and joined. */
  name: string;
  peerUrl: string;
}

/** `etcdctl member list` (simple format): `<hex id>, <status>, <name>, <peer urls>, <client urls>, <learner>` per line. */
export function parseMemberList(output: string): EtcdMember[] {
  return output
    .split(/\r?\n/)
    .map((line) => line.split(',').map((field) => field.trim()))
    .filter((fields) => fields.length >= 4 && /^[0-9a-f]+$/.test(fields[0]!))
    .map((fields) => ({ id: fields[0]!, name: fields[2]!, peerUrl: fields[3]! }));
}

export interface EtcdJoinContext {
  spec: ProvisionedClusterSpec;
  /** Joins recorded so far, by node name. */
  recorded: Readonly<Record<string, EtcdJoin>>;
  /** The cluster has formed: a bootstrap list no longer says how a node joins (it may have been removed since). */
  formed: boolean;
  connection: (node: ProvisionedNode) => Promise<HostConnection>;
  dockerOptions: (host: string) => DockerCallOptions;
  log: (line: string) => void;
}

/** etcdctl in the etcd container of `through`; a member without a quorum fails within the command timeout. */
function etcdctl(context: EtcdJoinContext, through: ProvisionedNode, args: string[]): Promise<string> {
  return context.connection(through).then((c) => execIn(c.docker, 'etcd', etcdctlCommand(through, ['--command-timeout=5s', ...args]), context.dockerOptions(through.name)));
}

/** The member list, through the first etcd node (`node` itself first) whose etcd answers; undefined when none does (no cluster yet). */
async function memberList(context: EtcdJoinContext, node: ProvisionedNode): Promise<{ members: EtcdMember[]; through: ProvisionedNode } | undefined> {
  const candidates = [node, ...context.spec.nodes.filter((n) => hasRole(n, 'etcd') && n.name !== node.name)];
  for (const through of candidates) {
    try {
      return { members: parseMemberList(await etcdctl(context, through, ['member', 'list'])), through };
    } catch {
      // No etcd container there yet, or no quorum: ask the next.
    }
  }
  return undefined;
}

/** How long etcd may refuse a member add as `unhealthy cluster`: it wants every member connected for 5 s first (a member that just joined). */
const ADD_MEMBER_PATIENCE_MS = 60_000;

async function addMember(context: EtcdJoinContext, through: ProvisionedNode, node: ProvisionedNode): Promise<void> {
  const deadline = Date.now() + ADD_MEMBER_PATIENCE_MS;
  for (;;) {
    try {
      await etcdctl(context, through, ['member', 'add', etcdMemberName(node), `--peer-urls=${etcdPeerUrl(node)}`]);
      return;
    } catch (err) {
      if (!/unhealthy cluster/.test((err as Error).message) || Date.now() > deadline || context.dockerOptions(node.name).signal?.aborted) throw err;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

/** The join of the etcd member on `node`: as recorded, as its bootstrap listed it, or by asking the running cluster (adding it as a member). */
export async function etcdJoin(context: EtcdJoinContext, node: ProvisionedNode): Promise<EtcdJoin> {
  const recorded = context.recorded[node.name];
  if (recorded) return recorded;
  const self = `${etcdMemberName(node)}=${etcdPeerUrl(node)}`;
  const bootstrap = Object.values(context.recorded).find((join) => join.state === 'new' && join.initialCluster.split(',').includes(self));
  if (bootstrap && !context.formed) return bootstrap;
  const listed = await memberList(context, node);
  // No member answers: the first member of a new cluster.
  if (!listed) return etcdBootstrapJoin(context.spec);
  const member = listed.members.find((m) => m.peerUrl === etcdPeerUrl(node));
  const started = listed.members.filter((m) => m.name !== '');
  // A member from before joins were recorded: it keeps the membership it runs with.
  if (member?.name) return { state: 'new', initialCluster: started.map((m) => `${m.name}=${m.peerUrl}`).join(',') };
  if (!member) {
    await addMember(context, listed.through, node);
    context.log(`[etcd] ${node.name}: added as a member through ${listed.through.name}`);
  }
  return { state: 'existing', initialCluster: [...started.filter((m) => m.peerUrl !== etcdPeerUrl(node)).map((m) => `${m.name}=${m.peerUrl}`), self].join(',') };
}

/** The addresses of the members a join lists (`name=https://<address>:2380`). */
export function joinAddresses(join: EtcdJoin): string[] {
  return join.initialCluster.split(',').map((member) => new URL(member.slice(member.indexOf('=') + 1)).hostname);
}
