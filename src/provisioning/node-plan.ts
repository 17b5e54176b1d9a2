import type { ProvisionedClusterSpec, ProvisionedNode } from '../clusters/provisioning-spec.js';
import type { ContainerSpec, HostFile } from './containers.js';
import type { HostFacts } from './host-facts.js';
import { imageReference } from './images.js';
import { renderEmbeddedKubeconfig } from './kubeconfig.js';
import type { ClusterPki } from './pki.js';
import { CNI_BIN_DIR, CNI_CONF_DIR } from './pod-network.js';
import type { EtcdJoin } from './step-plan.js';

/**
 * What one host of a provisioned cluster holds: its files (certificates, keys, kubeconfigs) and
 * its containers, computed from the spec and the PKI alone (pure: unit-tested, and the same
 * input always gives the same containers, which is what lets a re-run change nothing).
 */

/** Every file zcloud writes on a host lives below this directory. */
export const HOST_SSL_DIR = '/etc/kubernetes/ssl';
export const KUBE_DIR = '/etc/kubernetes';

export const APISERVER_PORT = 6443;


const ssl = (name: string) => `${HOST_SSL_DIR}/${name}`;

export function hasRole(node: ProvisionedNode, role: ProvisionedNode['roles'][number]): boolean {
  return node.roles.includes(role);
}

/**
 * Where a host's components reach the apiserver: 127.0.0.1 everywhere, their own apiserver on a
 * controlplane host, the local apiserver proxy (to every controlplane) on the others.
 */
export const LOCAL_APISERVER_URL = `https://127.0.0.1:${APISERVER_PORT}`;

const APISERVER_PROXY_DIR = `${KUBE_DIR}/apiserver-proxy`;

/**
 * HAProxy's configuration on a non-controlplane host: TCP on 127.0.0.1:6443 to every
 * controlplane's apiserver (TLS stays end to end: the apiserver's certificate carries
 * 127.0.0.1), the ones failing a connect check skipped. Watches live long: hours-long timeouts.
 */
export function apiserverProxyConfig(spec: ProvisionedClusterSpec): string {
  const servers = spec.nodes.filter((n) => hasRole(n, 'controlplane')).map((n) => `    server ${n.name} ${n.address}:${APISERVER_PORT}`);
  return [
    'global',
    // Each connection takes two descriptors; 4000 stays within a container's default limit.
    '    maxconn 4000',
    'defaults',
    '    mode tcp',
    '    timeout connect 5s',
    '    timeout client 24h',
    '    timeout server 24h',
    'frontend kube-apiserver',
    `    bind 127.0.0.1:${APISERVER_PORT}`,
    '    default_backend controlplanes',
    'backend controlplanes',
    '    default-server check inter 5s fall 3 rise 1',
    ...servers,
    '',
  ].join('\n');
}

/** The local apiserver proxy of a non-controlplane host; recreated when the controlplane list (its configuration file, see withFilesHash) changes. */
export function apiserverProxyContainer(): ContainerSpec {
  return {
    name: 'apiserver-proxy',
    image: imageReference('apiserver-proxy'),
    binds: [`${APISERVER_PROXY_DIR}:/usr/local/etc/haproxy:ro`],
    command: ['haproxy', '-db', '-f', '/usr/local/etc/haproxy/haproxy.cfg'],
  };
}

function etcdName(node: ProvisionedNode): string {
  return `etcd-${node.name}`;
}

export function etcdClientUrls(spec: ProvisionedClusterSpec): string {
  return spec.nodes
    .filter((n) => hasRole(n, 'etcd'))
    .map((n) => `https://${n.address}:2379`)
    .join(',');
}

export function hostFiles(cluster: string, spec: ProvisionedClusterSpec, pki: ClusterPki, node: ProvisionedNode): HostFile[] {
  const files: HostFile[] = [];
  const secret = (name: string, content: string) => files.push({ path: ssl(name), content, mode: 0o600 });
  const pair = (id: string) => {
    const cert = pki.certificates[id];
    if (!cert) throw new Error(`certificate ${id} missing from the PKI of ${cluster}`);
    files.push({ path: ssl(`${id}.crt`), content: cert.certPem, mode: 0o644 });
    secret(`${id}.key`, cert.keyPem);
  };
  const kubeconfig = (component: string, certificateId: string) => {
    const cert = pki.certificates[certificateId]!;
    const user = cert.request.commonName;
    secret(`kubeconfig-${component}.yaml`, renderEmbeddedKubeconfig({ cluster, server: LOCAL_APISERVER_URL, caPem: pki.ca.certPem, user, certPem: cert.certPem, keyPem: cert.keyPem }));
  };
  files.push({ path: ssl('ca.crt'), content: pki.ca.certPem, mode: 0o644 });
  if (hasRole(node, 'etcd')) pair(etcdName(node));
  if (hasRole(node, 'controlplane')) {
    for (const id of ['kube-apiserver', 'kube-apiserver-kubelet-client', 'kube-apiserver-etcd-client', 'front-proxy-client']) pair(id);
    files.push({ path: ssl('front-proxy-ca.crt'), content: pki.frontProxyCa.certPem, mode: 0o644 });
    files.push({ path: ssl('service-account.pub'), content: pki.serviceAccount.publicKeyPem, mode: 0o644 });
    secret('service-account.key', pki.serviceAccount.privateKeyPem);
    // The controller-manager signs with the CA (CSR approval of kubelet serving certs).
    secret('ca.key', pki.ca.keyPem);
    kubeconfig('kube-controller-manager', 'kube-controller-manager');
    kubeconfig('kube-scheduler', 'kube-scheduler');
  }
  if (!hasRole(node, 'controlplane')) files.push({ path: `${APISERVER_PROXY_DIR}/haproxy.cfg`, content: apiserverProxyConfig(spec), mode: 0o644 });
  kubeconfig('kubelet', `kubelet-${node.name}`);
  kubeconfig('kube-proxy', 'kube-proxy');
  pair(`kubelet-${node.name}`);
  return files;
}

const sslBind = `${HOST_SSL_DIR}:${HOST_SSL_DIR}:ro`;

/** `https://<address>:2380`: where the member on `node` talks to its peers. */
export function etcdPeerUrl(node: ProvisionedNode): string {
  return `https://${node.address}:2380`;
}

/** The join of a new cluster's members: every etcd node of the spec, state `new`. */
export function etcdBootstrapJoin(spec: ProvisionedClusterSpec): EtcdJoin {
  return { state: 'new', initialCluster: spec.nodes.filter((n) => hasRole(n, 'etcd')).map((n) => `${etcdName(n)}=${etcdPeerUrl(n)}`).join(',') };
}

export function etcdContainer(spec: ProvisionedClusterSpec, node: ProvisionedNode, join: EtcdJoin = etcdBootstrapJoin(spec)): ContainerSpec {
  const cert = ssl(`${etcdName(node)}.crt`);
  const key = ssl(`${etcdName(node)}.key`);
  return {
    name: 'etcd',
    image: imageReference('etcd'),
    binds: ['/var/lib/etcd:/var/lib/etcd', sslBind],
    command: [
      'etcd',
      `--name=${etcdName(node)}`,
      '--data-dir=/var/lib/etcd/data',
      `--listen-client-urls=https://${node.address}:2379,https://127.0.0.1:2379`,
      `--advertise-client-urls=https://${node.address}:2379`,
      `--listen-peer-urls=https://${node.address}:2380`,
      `--initial-advertise-peer-urls=https://${node.address}:2380`,
      `--initial-cluster=${join.initialCluster}`,
      `--initial-cluster-state=${join.state}`,
      `--cert-file=${cert}`, `--key-file=${key}`, '--client-cert-auth', `--trusted-ca-file=${ssl('ca.crt')}`,
      `--peer-cert-file=${cert}`, `--peer-key-file=${key}`, '--peer-client-cert-auth', `--peer-trusted-ca-file=${ssl('ca.crt')}`,
    ],
  };
}

/** etcdctl as run inside the etcd container of `node`, with that member's certificate (it serves clients and peers). */
export function etcdctlCommand(node: ProvisionedNode, args: string[]): string[] {
  const name = etcdName(node);
  return ['etcdctl', '--endpoints=https://127.0.0.1:2379', `--cacert=${ssl('ca.crt')}`, `--cert=${ssl(`${name}.crt`)}`, `--key=${ssl(`${name}.key`)}`, ...args];
}

/** The etcd member name of `node`, as `--name` gives it. */
export function etcdMemberName(node: ProvisionedNode): string {
  return etcdName(node);
}

export function controlPlaneContainers(spec: ProvisionedClusterSpec, node: ProvisionedNode): ContainerSpec[] {
  const apiserver: ContainerSpec = {
    name: 'kube-apiserver',
    image: imageReference('kube-apiserver'),
    binds: [sslBind],
    command: [
      'kube-apiserver',
      `--etcd-servers=${etcdClientUrls(spec)}`,
      `--etcd-cafile=${ssl('ca.crt')}`, `--etcd-certfile=${ssl('kube-apiserver-etcd-client.crt')}`, `--etcd-keyfile=${ssl('kube-apiserver-etcd-client.key')}`,
      '--bind-address=0.0.0.0', `--advertise-address=${node.address}`, `--secure-port=${APISERVER_PORT}`, '--insecure-port=0',
      `--client-ca-file=${ssl('ca.crt')}`, `--tls-cert-file=${ssl('kube-apiserver.crt')}`, `--tls-private-key-file=${ssl('kube-apiserver.key')}`,
      `--kubelet-client-certificate=${ssl('kube-apiserver-kubelet-client.crt')}`, `--kubelet-client-key=${ssl('kube-apiserver-kubelet-client.key')}`,
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      `--requestheader-client-ca-file=${ssl('front-proxy-ca.crt')}`, '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User', '--requestheader-group-headers=X-Remote-Group', '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${ssl('front-proxy-client.crt')}`, `--proxy-client-key-file=${ssl('front-proxy-client.key')}`,
      '--authorization-mode=Node,RBAC', '--enable-admission-plugins=NodeRestriction', '--allow-privileged=true', '--anonymous-auth=false',
      `--service-account-key-file=${ssl('service-account.pub')}`, `--service-account-signing-key-file=${ssl('service-account.key')}`,
      `--service-account-issuer=https://kubernetes.default.svc.${spec.clusterDomain}`,
      `--service-cluster-ip-range=${spec.serviceCidr}`,
    ],
  };
  const controllerManager: ContainerSpec = {
    name: 'kube-controller-manager',
    image: imageReference('kube-controller-manager'),
    binds: [sslBind],
    command: [
      'kube-controller-manager',
      `--kubeconfig=${ssl('kubeconfig-kube-controller-manager.yaml')}`,
      `--authentication-kubeconfig=${ssl('kubeconfig-kube-controller-manager.yaml')}`,
      `--authorization-kubeconfig=${ssl('kubeconfig-kube-controller-manager.yaml')}`,
      '--bind-address=127.0.0.1', '--port=0', '--leader-elect=true', '--use-service-account-credentials=true',
      `--service-account-private-key-file=${ssl('service-account.key')}`, `--root-ca-file=${ssl('ca.crt')}`,
      `--cluster-signing-cert-file=${ssl('ca.crt')}`, `--cluster-signing-key-file=${ssl('ca.key')}`,
      `--cluster-cidr=${spec.clusterCidr}`, `--service-cluster-ip-range=${spec.serviceCidr}`, '--allocate-node-cidrs=true',
    ],
  };
  const scheduler: ContainerSpec = {
    name: 'kube-scheduler',
    image: imageReference('kube-scheduler'),
    binds: [sslBind],
    command: [
      'kube-scheduler',
      `--kubeconfig=${ssl('kubeconfig-kube-scheduler.yaml')}`,
      `--authentication-kubeconfig=${ssl('kubeconfig-kube-scheduler.yaml')}`,
      `--authorization-kubeconfig=${ssl('kubeconfig-kube-scheduler.yaml')}`,
      '--bind-address=127.0.0.1', '--port=0', '--leader-elect=true',
    ],
  };
  return [apiserver, controllerManager, scheduler];
}

/** The kubelet as ZKE runs it: privileged, host network and pid, the host's runtime paths, pods on the CNI network of pod-network.ts. */
export function kubeletContainer(spec: ProvisionedClusterSpec, node: ProvisionedNode, facts: HostFacts): ContainerSpec {
  return {
    name: 'kubelet',
    image: imageReference('kubelet'),
    privileged: true,
    pidHost: true,
    binds: [
      `${KUBE_DIR}:${KUBE_DIR}:ro`,
      '/var/lib/kubelet:/var/lib/kubelet:shared',
      '/var/lib/dockershim:/var/lib/dockershim',
      // The pod network (pod-network.ts): plugins, their config, host-local's address state.
      `${CNI_BIN_DIR}:${CNI_BIN_DIR}:ro`,
      `${CNI_CONF_DIR}:${CNI_CONF_DIR}:ro`,
      '/var/lib/cni:/var/lib/cni',
      '/var/log:/var/log',
      '/run:/run',
      '/sys:/sys',
      '/dev:/dev',
      `${facts.dockerRootDir}:${facts.dockerRootDir}`,
    ],
    command: [
      'kubelet',
      `--kubeconfig=${ssl('kubeconfig-kubelet.yaml')}`,
      '--container-runtime=docker',
      '--network-plugin=cni',
      `--cni-bin-dir=${CNI_BIN_DIR}`,
      `--cni-conf-dir=${CNI_CONF_DIR}`,
      `--docker-endpoint=unix://${spec.dockerSocket}`,
      `--cgroup-driver=${facts.cgroupDriver}`,
      ...(facts.cgroupParent ? [`--cgroup-root=${facts.cgroupParent}`] : []),
      `--node-ip=${node.address}`,
      `--address=${node.address}`,
      `--hostname-override=${node.name}`,
      `--pod-infra-container-image=${imageReference('pause')}`,
      `--cluster-dns=${spec.clusterDNSServiceIP}`,
      `--cluster-domain=${spec.clusterDomain}`,
      `--client-ca-file=${ssl('ca.crt')}`,
      `--tls-cert-file=${ssl(`kubelet-${node.name}.crt`)}`,
      `--tls-private-key-file=${ssl(`kubelet-${node.name}.key`)}`,
      '--anonymous-auth=false',
      // Callers of the kubelet API are authorized by the apiserver (SubjectAccessReview).
      '--authorization-mode=Webhook',
      '--read-only-port=0',
      '--fail-swap-on=false',
    ],
  };
}

/**
 * kube-proxy in iptables mode (privileged, host network). The conntrack settings are left to
 * the host (`--conntrack-*=0`): kube-proxy would otherwise write nf_conntrack_max, which the
 * kernel lets only the initial network namespace change, and fail on hosts that are network
 * namespaces or unprivileged containers. /run is shared with the kubelet for the xtables lock.
 */
export function kubeProxyContainer(spec: ProvisionedClusterSpec, node: ProvisionedNode): ContainerSpec {
  return {
    name: 'kube-proxy',
    image: imageReference('kube-proxy'),
    privileged: true,
    binds: [sslBind, '/run:/run'],
    command: [
      'kube-proxy',
      `--kubeconfig=${ssl('kubeconfig-kube-proxy.yaml')}`,
      '--proxy-mode=iptables',
      `--cluster-cidr=${spec.clusterCidr}`,
      `--hostname-override=${node.name}`,
      `--bind-address=${node.address}`,
      '--healthz-bind-address=127.0.0.1:10256',
      '--metrics-bind-address=127.0.0.1:10249',
      '--conntrack-max-per-core=0',
      '--conntrack-tcp-timeout-established=0',
      '--conntrack-tcp-timeout-close-wait=0',
    ],
  };
}
