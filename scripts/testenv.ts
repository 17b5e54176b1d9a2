/**
 * The test world's command line: `npm run testenv -- <command>`. See docs/test-world.md.
 * Progress goes to stderr; stdout carries only results (for `up`, the kubeconfig path last).
 */
import { parseArgs } from 'node:util';
import { allClusterStatuses, destroy, down, up, type ClusterStatus } from './testenv/cluster.js';
import { ensure } from './testenv/ensure.js';
import { allHostSetStatuses, destroyHosts, downHosts, isHostSet, upHosts, type HostSetStatus } from './testenv/hosts/host-set.js';

const usage = `usage: npm run testenv -- <command>
  ensure                 install missing Debian packages, build and cache the Kubernetes servers
  up NAME [--nodes N]    start (or restart) cluster NAME; prints its admin kubeconfig path last
  hosts NAME [--count N] [--user U]
                         start host set NAME (sshd + dockerd per host, default 3 hosts, login
                         user zcloud); prints the path of its hosts.json last
  down NAME              stop cluster or host set NAME's processes, keeping its data
  destroy NAME           stop cluster or host set NAME and remove everything it made
  status                 list clusters (ports, pids) and host sets (addresses, pids)`;

function clusterName(positionals: string[]): string {
  const name = positionals[1];
  if (!name || positionals.length > 2) throw new UsageError(`${positionals[0]} takes one NAME`);
  return name;
}

class UsageError extends Error {}

function formatStatus(status: ClusterStatus): string {
  const ports = status.ports
    ? `apiserver https://127.0.0.1:${status.ports.apiserver}  etcd 127.0.0.1:${status.ports.etcdClient}/${status.ports.etcdPeer}  ` +
      `controller-manager :${status.ports.controllerManager}  scheduler :${status.ports.scheduler}`
    : 'no ports yet';
  const components = status.components.map(
    (c) => `  ${c.name.padEnd(24)} ${c.alive ? 'running' : 'stopped'}${c.pid !== undefined ? `  pid ${c.pid}` : ''}`,
  );
  return [`${status.name}  ${ports}`, `  dir ${status.dir}`, ...components].join('\n');
}

function formatHostSetStatus(status: HostSetStatus): string {
  const hosts = status.hosts.map((host) => {
    const daemon = (name: string, state: { pid?: number; alive: boolean }): string =>
      `${name} ${state.alive ? 'running' : 'stopped'}${state.pid !== undefined ? ` pid ${state.pid}` : ''}`;
    return `  ${host.name.padEnd(24)} ${host.address.padEnd(15)} ${daemon('sshd', host.sshd)}  ${daemon('dockerd', host.dockerd)}`;
  });
  return [`${status.name}  host set ${status.subnet}`, `  dir ${status.dir}`, ...hosts].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { nodes: { type: 'string' }, count: { type: 'string' }, user: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  switch (command) {
    case 'ensure':
      await ensure();
      return;
    case 'up': {
      const name = clusterName(positionals);
      if (isHostSet(name)) throw new UsageError(`${name} is a host set; pick another name for the cluster`);
      const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
      if (nodes !== undefined && !Number.isInteger(nodes)) throw new UsageError(`--nodes must be a whole number, got ${values.nodes}`);
      await ensure();
      const cluster = await up(name, { nodes });
      process.stdout.write(`${cluster.kubeconfigPath}\n`);
      return;
    }
    case 'hosts': {
      const name = clusterName(positionals);
      const count = values.count === undefined ? undefined : Number(values.count);
      if (count !== undefined && !Number.isInteger(count)) throw new UsageError(`--count must be a whole number, got ${values.count}`);
      await ensure();
      const hostSet = await upHosts(name, { count, sshUser: values.user });
      process.stdout.write(`${hostSet.hostsJsonPath}\n`);
      return;
    }
    case 'down': {
      const name = clusterName(positionals);
      await (isHostSet(name) ? downHosts(name) : down(name));
      return;
    }
    case 'destroy': {
      const name = clusterName(positionals);
      await (isHostSet(name) ? destroyHosts(name) : destroy(name));
      return;
    }
    case 'status': {
      const hostSets = allHostSetStatuses();
      const hostSetNames = new Set(hostSets.map((status) => status.name));
      const clusters = allClusterStatuses().filter((status) => !hostSetNames.has(status.name));
      const blocks = [...clusters.map(formatStatus), ...hostSets.map(formatHostSetStatus)];
      process.stdout.write(blocks.length ? `${blocks.join('\n\n')}\n` : 'no clusters and no host sets\n');
      return;
    }
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`testenv: ${(err as Error).message}\n`);
  if (err instanceof UsageError) process.stderr.write(`${usage}\n`);
  process.exitCode = 1;
});
