import type Docker from 'dockerode';
import { parseCidr, type ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { runOnce, writeHostFiles, type DockerCallOptions, type HostFile } from './containers.js';
import { imageReference } from './images.js';

/**
 * The pod network of a provisioned cluster, host-gw style (what flannel's host-gw backend
 * does): on each host the kubelet's CNI config puts pods on bridge `cni0` with addresses of the
 * node's podCIDR (host-local IPAM), and zcloud routes every other node's podCIDR to that node's
 * address. It needs the hosts on one L2 segment. The CNI plugins come from the `cni-plugins`
 * image, copied onto the host by a one-shot container (as ZKE's images do). When the flannel
 * add-on runs, its conflist (`10-flannel.conflist`, same bridge, same subnet, backend host-gw:
 * the same routes) outranks zcloud's.
 */

export const CNI_BIN_DIR = '/opt/cni/bin';
export const CNI_CONF_DIR = '/etc/cni/net.d';
export const POD_NETWORK_CONF = `${CNI_CONF_DIR}/20-zcloud-bridge.conflist`;
/** Where the `cni-plugins` image keeps the plugins it copies. */
export const CNI_IMAGE_DIR = '/opt/cni-plugins';
/** The plugins the kubelet calls: its network's two, and loopback, which dockershim calls for every pod. */
export const CNI_PLUGINS = ['bridge', 'host-local', 'loopback'] as const;

export interface PodNetworkNode {
  name: string;
  address: string;
  podCidr: string;
}

/** The kubelet's CNI config on a node with `podCidr`: bridge `cni0`, the node the pods' gateway. */
export function podNetworkConfig(podCidr: string): string {
  const config = {
    cniVersion: '0.4.0',
    name: 'zcloud',
    plugins: [
      {
        type: 'bridge',
        bridge: 'cni0',
        isGateway: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet: podCidr }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
    ],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/**
 * The commands that make a host's routes to the other nodes' podCIDRs match `others`, given its
 * `ip -4 route show`: each one replaced (idempotent), and any other route inside the cluster CIDR
 * through a gateway (a node since removed) deleted. Its own podCIDR (the bridge's) is never
 * touched: it has no gateway.
 */
export function podRouteCommands(clusterCidr: string, others: readonly PodNetworkNode[], currentRoutes: string): string[] {
  const cluster = parseCidr(clusterCidr);
  if (!cluster) throw new Error(`clusterCidr ${clusterCidr} is not a CIDR`);
  const wanted = new Set(others.map((n) => n.podCidr));
  const stale = currentRoutes
    .split(/\r?\n/)
    .map((line) => /^(\d+\.\d+\.\d+\.\d+\/\d+) via /.exec(line.trim())?.[1])
    .filter((dest): dest is string => dest !== undefined && !wanted.has(dest))
    .filter((dest) => {
      const range = parseCidr(dest);
      return range !== undefined && range.first >= cluster.first && range.last <= cluster.last;
    });
  return [...stale.map((dest) => `ip route del ${dest}`), ...others.map((n) => `ip route replace ${n.podCidr} via ${n.address}`)];
}

/**
 * Puts the pod network on one host: the CNI plugins in CNI_BIN_DIR (copied, then renamed into
 * place, so a plugin running meanwhile is not cut), forwarding on and accepted for the cluster
 * CIDR (Docker may have set the FORWARD policy to DROP), the routes to `others`, and last the
 * kubelet's CNI config, which turns the node Ready.
 */
export async function ensurePodNetwork(docker: Docker, spec: ProvisionedClusterSpec, self: PodNetworkNode, others: readonly PodNetworkNode[], options: DockerCallOptions): Promise<void> {
  const install = [
    'set -e',
    `mkdir -p /host${CNI_BIN_DIR}`,
    ...CNI_PLUGINS.map((plugin) => `cp ${CNI_IMAGE_DIR}/${plugin} /host${CNI_BIN_DIR}/.${plugin}.new && mv -f /host${CNI_BIN_DIR}/.${plugin}.new /host${CNI_BIN_DIR}/${plugin}`),
  ];
  await runOnce(docker, imageReference('cni-plugins'), ['sh', '-c', install.join('\n')], options, { binds: ['/opt:/host/opt'] });
  // kube-proxy's image has the host's view of iptables and busybox's `ip`.
  const networking = imageReference('kube-proxy');
  const routes = await runOnce(docker, networking, ['ip', '-4', 'route', 'show'], options, { privileged: true });
  const accept = (direction: '-s' | '-d') => `iptables -C FORWARD ${direction} ${spec.clusterCidr} -m comment --comment zcloud-pod-network -j ACCEPT 2>/dev/null || iptables -A FORWARD ${direction} ${spec.clusterCidr} -m comment --comment zcloud-pod-network -j ACCEPT`;
  const script = ['set -e', 'echo 1 > /proc/sys/net/ipv4/ip_forward', accept('-s'), accept('-d'), ...podRouteCommands(spec.clusterCidr, others, routes)];
  await runOnce(docker, networking, ['sh', '-c', script.join('\n')], options, { privileged: true, binds: ['/run:/run'] });
  const config: HostFile = { path: POD_NETWORK_CONF, content: podNetworkConfig(self.podCidr), mode: 0o644 };
  await writeHostFiles(docker, imageReference('base'), CNI_CONF_DIR, [config], options);
}

/**
 * Takes the pod network off a host (DELETE, a removed node): the routes into the cluster CIDR,
 * bridge `cni0` and the FORWARD rules. The files (plugins, config) go with the host's other
 * paths (host-cleanup.ts). Nothing to do on a host that never got kube-proxy's image.
 */
export async function removePodNetwork(docker: Docker, spec: ProvisionedClusterSpec, options: DockerCallOptions): Promise<void> {
  const networking = imageReference('kube-proxy');
  const present = await docker.getImage(networking).inspect().then(() => true, () => false);
  if (!present) return;
  const routes = await runOnce(docker, networking, ['ip', '-4', 'route', 'show'], options, { privileged: true });
  const drop = (direction: '-s' | '-d') => `while iptables -D FORWARD ${direction} ${spec.clusterCidr} -m comment --comment zcloud-pod-network -j ACCEPT 2>/dev/null; do :; done`;
  const script = [...podRouteCommands(spec.clusterCidr, [], routes), 'ip link del cni0 2>/dev/null || true', drop('-s'), drop('-d')];
  await runOnce(docker, networking, ['sh', '-c', script.join('\n')], options, { privileged: true, binds: ['/run:/run'] });
}
