/**
 * The test world's command line: `npm run testenv -- <command>`. See docs/test-world.md.
 * Progress goes to stderr; stdout carries only results (for `up`, the kubeconfig path last).
 */
import { parseArgs } from 'node:util';
import { allClusterStatuses, destroy, down, up, type ClusterStatus } from './testenv/cluster.js';
import { ensure } from './testenv/ensure.js';

const usage = `usage: npm run testenv -- <command>
  ensure                 install missing Debian packages, build and cache the Kubernetes servers
  up NAME [--nodes N]    start (or restart) cluster NAME; prints its admin kubeconfig path last
  down NAME              stop cluster NAME's processes, keeping its data
  destroy NAME           stop cluster NAME and delete its directory
  status                 list clusters: ports, pids, which processes are alive`;

function clusterName(positionals: string[]): string {
  const name = positionals[1];
  if (!name || positionals.length > 2) throw new UsageError(`${positionals[0]} takes one cluster NAME`);
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

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { nodes: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
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
      const nodes = values.nodes === undefined ? undefined : Number(values.nodes);
      if (nodes !== undefined && !Number.isInteger(nodes)) throw new UsageError(`--nodes must be a whole number, got ${values.nodes}`);
      await ensure();
      const cluster = await up(name, { nodes });
      process.stdout.write(`${cluster.kubeconfigPath}\n`);
      return;
    }
    case 'down':
      await down(clusterName(positionals));
      return;
    case 'destroy':
      await destroy(clusterName(positionals));
      return;
    case 'status': {
      const statuses = allClusterStatuses();
      process.stdout.write(statuses.length ? `${statuses.map(formatStatus).join('\n\n')}\n` : 'no clusters\n');
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
