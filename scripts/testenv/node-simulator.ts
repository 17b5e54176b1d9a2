/**
 * The node simulator: a stand-in for the kubelets of one test cluster, run as its own process
 * by `up` (`node --import tsx scripts/testenv/node-simulator.ts --config=<path>`). It is an
 * apiserver client like a kubelet and nothing more: it registers the configured nodes, keeps
 * their leases and Ready condition fresh, and reports the pods bound to them as running. It
 * also serves the kubelet API the apiserver proxies container logs and exec to (loopback only).
 * It exits on SIGTERM/SIGINT, or when its config file disappears (cluster destroyed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { SimulatorConfig } from './simulator/config.js';
import { KubeClient } from './simulator/kube-client.js';
import { KubeletServer } from './simulator/kubelet-server.js';
import { NodeAgent, removeStaleNodes } from './simulator/node-agent.js';
import { PodRunner } from './simulator/pod-runner.js';
import { Sandboxes } from './simulator/sandbox.js';

/** How often the simulator checks that its cluster still exists. */
const lifelineCheckMs = 2_000;

function log(message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${message}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } } });
  if (!values.config) throw new Error('usage: node-simulator.ts --config=<path to node-simulator.json>');
  const configPath = values.config;
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as SimulatorConfig;
  const client = new KubeClient(config.kubeconfigPath);

  const stop = new AbortController();
  for (const name of ['SIGTERM', 'SIGINT'] as const) process.once(name, () => stop.abort());
  const lifeline = setInterval(() => {
    if (!existsSync(config.lifelinePath)) {
      log(`${config.lifelinePath} is gone: the cluster was destroyed, exiting`);
      stop.abort();
    }
  }, lifelineCheckMs);
  stop.signal.addEventListener('abort', () => clearInterval(lifeline), { once: true });

  log(`simulating ${config.nodes.map((node) => node.name).join(', ')} for cluster ${config.clusterName}`);
  await removeStaleNodes(client, config, log);
  const sandboxes = new Sandboxes(config.kubelet.sandboxDir);
  const pods = new PodRunner(client, config, log, (pod) => sandboxes.remove(pod));
  const kubelet = new KubeletServer(config, (namespace, name) => pods.pod(namespace, name), sandboxes, log);
  await Promise.all([
    ...config.nodes.map((node) => new NodeAgent(client, node, config, log).run(stop.signal)),
    pods.run(stop.signal),
    kubelet.run(stop.signal),
  ]);
  client.close();
  log('stopped');
}

main().catch((err: unknown) => {
  log(`fatal: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
});
