import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ClusterLayout, ClusterPorts, ComponentName } from './cluster-layout.js';
import type { KubeBinaries } from './kube-build.js';
import { repoRoot } from './paths.js';
import type { ClusterPki } from './pki.js';

/** Kubernetes' usual service range. The apiserver only allocates ClusterIPs from it; nothing is sent there. */
export const serviceClusterIpRange = '10.96.0.0/16';
const serviceAccountIssuer = 'https://kubernetes.default.svc.cluster.local';

export interface ComponentCommand {
  command: string;
  args: string[];
}

export interface ComponentContext {
  layout: ClusterLayout;
  ports: ClusterPorts;
  pki: ClusterPki;
  binaries: KubeBinaries;
}

export function kubeconfigFor(layout: ClusterLayout, component: 'kube-controller-manager' | 'kube-scheduler' | 'node-simulator'): string {
  return join(layout.kubeconfigsDir, `${component}.kubeconfig`);
}

/**
 * The command line of each component. Everything listens on 127.0.0.1 only; insecure ports
 * are disabled; every argument list names a file in the cluster directory, which is how
 * `down` recognises the processes as this cluster's.
 */
export function componentCommand(component: ComponentName, ctx: ComponentContext): ComponentCommand {
  const { layout, ports, pki, binaries } = ctx;
  const etcdClientUrl = `http://127.0.0.1:${ports.etcdClient}`;
  const etcdPeerUrl = `http://127.0.0.1:${ports.etcdPeer}`;
  switch (component) {
    case 'etcd':
      // Plain http: it is reachable from loopback only and carries test data.
      return {
        command: 'etcd',
        args: [
          `--name=${layout.name}`,
          `--data-dir=${layout.etcdDataDir}`,
          `--listen-client-urls=${etcdClientUrl}`,
          `--advertise-client-urls=${etcdClientUrl}`,
          `--listen-peer-urls=${etcdPeerUrl}`,
          `--initial-advertise-peer-urls=${etcdPeerUrl}`,
          `--initial-cluster=${layout.name}=${etcdPeerUrl}`,
          '--initial-cluster-state=new',
          '--logger=zap',
          '--log-outputs=stderr',
        ],
      };
    case 'kube-apiserver':
      return {
        command: binaries.paths['kube-apiserver'],
        args: [
          `--etcd-servers=${etcdClientUrl}`,
          '--bind-address=127.0.0.1',
          '--advertise-address=127.0.0.1',
          `--secure-port=${ports.apiserver}`,
          '--insecure-port=0',
          // The default reconciler would publish 127.0.0.1 as the `kubernetes` endpoint, which
          // validation rejects (loopback), and log the failure forever.
          '--endpoint-reconciler-type=none',
          `--tls-cert-file=${pki.apiserver.cert}`,
          `--tls-private-key-file=${pki.apiserver.key}`,
          `--client-ca-file=${pki.ca.cert}`,
          '--authorization-mode=RBAC',
          `--service-account-key-file=${pki.serviceAccount.publicKey}`,
          `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
          `--service-account-issuer=${serviceAccountIssuer}`,
          `--api-audiences=${serviceAccountIssuer}`,
          `--service-cluster-ip-range=${serviceClusterIpRange}`,
          // The aggregation layer, as kubeadm configures it (see ClusterPki.frontProxyCa).
          `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
          '--requestheader-allowed-names=front-proxy-client',
          '--requestheader-username-headers=X-Remote-User',
          '--requestheader-group-headers=X-Remote-Group',
          '--requestheader-extra-headers-prefix=X-Remote-Extra-',
          `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
          `--proxy-client-key-file=${pki.frontProxyClient.key}`,
          // Logs and exec go to the simulated kubelets: each node publishes 127.0.0.1 as its
          // InternalDNS address (its InternalIP is a made-up 10.250.0.x) and the shared kubelet port.
          '--kubelet-preferred-address-types=InternalDNS,InternalIP,Hostname',
          `--kubelet-certificate-authority=${pki.ca.cert}`,
          `--kubelet-client-certificate=${pki.kubeletClient.cert}`,
          `--kubelet-client-key=${pki.kubeletClient.key}`,
          '--allow-privileged=true',
          '--profiling=false',
        ],
      };
    case 'kube-controller-manager':
      return {
        command: binaries.paths[component],
        args: [
          ...delegatedServingArgs(kubeconfigFor(layout, component), ports.controllerManager, pki),
          // Per-controller service-account credentials would cost ~150 ms per controller at
          // start (each waits for its token), ~3 s in all; the controllers act as the
          // controller-manager itself instead, which is in system:masters (see pki.ts).
          '--use-service-account-credentials=false',
          `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
          `--root-ca-file=${pki.ca.cert}`,
          `--cluster-signing-cert-file=${pki.ca.cert}`,
          `--cluster-signing-key-file=${pki.ca.key}`,
          `--cluster-name=${layout.name}`,
          '--controllers=*,bootstrapsigner,tokencleaner',
        ],
      };
    case 'kube-scheduler':
      return {
        command: binaries.paths[component],
        args: delegatedServingArgs(kubeconfigFor(layout, component), ports.scheduler, pki),
      };
    case 'node-simulator':
      return {
        command: process.execPath,
        // tsx by absolute URL: the process runs in the cluster directory, which need not be
        // inside the repository (ZCLOUD_TESTENV_DIR), where a bare `tsx` would not resolve.
        args: ['--import', pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href, join(repoRoot, 'scripts', 'testenv', 'node-simulator.ts'), `--config=${layout.simulatorConfigPath}`],
      };
  }
}

/**
 * What the controller-manager and the scheduler share: one kubeconfig for the apiserver and for
 * delegated authn/authz of their health port, which serves TLS on 127.0.0.1 with a certificate
 * of our CA (so probes can verify it); no insecure port; no leader election (one instance per
 * cluster, and the election would only delay the start).
 */
function delegatedServingArgs(kubeconfig: string, port: number, pki: ClusterPki): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--port=0',
    `--tls-cert-file=${pki.componentServing.cert}`,
    `--tls-private-key-file=${pki.componentServing.key}`,
    '--leader-elect=false',
    '--profiling=false',
  ];
}
