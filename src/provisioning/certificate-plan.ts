import { kubernetesServiceIp, type ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';

/**
 * Which certificates a provisioned cluster needs, computed from its spec alone (pure, so the
 * SAN lists are unit-tested without generating a key). Issuing them is pki.ts's job; a stored
 * certificate whose request differs from today's plan (a node added to the controlplane, a new
 * address) is issued again under the same CA.
 */

export type CertificateIssuer = 'ca' | 'front-proxy-ca';
export type CertificateUsage = 'server' | 'client' | 'server-and-client';

export interface CertificateRequest {
  /** Stable id within the cluster: `kube-apiserver`, `kubelet-<node>`, `etcd-<node>`... */
  id: string;
  issuer: CertificateIssuer;
  commonName: string;
  organizations: string[];
  usage: CertificateUsage;
  dnsNames: string[];
  ipAddresses: string[];
}

function request(id: string, commonName: string, usage: CertificateUsage, more: Partial<CertificateRequest> = {}): CertificateRequest {
  return { id, issuer: 'ca', commonName, organizations: [], usage, dnsNames: [], ipAddresses: [], ...more };
}

/** Every leaf certificate of the cluster, in a stable order. */
export function planCertificates(spec: ProvisionedClusterSpec): CertificateRequest[] {
  const controlplanes = spec.nodes.filter((n) => n.roles.includes('controlplane'));
  const etcds = spec.nodes.filter((n) => n.roles.includes('etcd'));
  const domain = spec.clusterDomain;
  const apiserverNames = ['kubernetes', 'kubernetes.default', 'kubernetes.default.svc', `kubernetes.default.svc.${domain}`, 'localhost'];
  const requests: CertificateRequest[] = [
    request('kube-apiserver', 'kube-apiserver', 'server', {
      dnsNames: unique([...apiserverNames, ...controlplanes.map((n) => n.name)]),
      ipAddresses: unique([...controlplanes.map((n) => n.address), '127.0.0.1', kubernetesServiceIp(spec)]),
    }),
    // zcloud's own credentials, and the apiserver's when it calls kubelets.
    request('kube-admin', 'kube-admin', 'client', { organizations: ['system:masters'] }),
    request('kube-apiserver-kubelet-client', 'kube-apiserver-kubelet-client', 'client', { organizations: ['system:masters'] }),
    // etcd admits clients by a certificate of the cluster CA (--client-cert-auth).
    request('kube-apiserver-etcd-client', 'kube-apiserver-etcd-client', 'client'),
    request('kube-controller-manager', 'system:kube-controller-manager', 'client'),
    request('kube-scheduler', 'system:kube-scheduler', 'client'),
    request('kube-proxy', 'system:kube-proxy', 'client'),
    // The aggregation layer's client: issued by the separate front-proxy CA, as kubeadm does.
    request('front-proxy-client', 'front-proxy-client', 'client', { issuer: 'front-proxy-ca' }),
  ];
  for (const node of spec.nodes) {
    // The Node authorizer knows a kubelet by exactly this name and group.
    requests.push(
      request(`kubelet-${node.name}`, `system:node:${node.name}`, 'server-and-client', {
        organizations: ['system:nodes'],
        dnsNames: [node.name],
        ipAddresses: [node.address],
      }),
    );
  }
  for (const node of etcds) {
    // One certificate serves etcd's clients and its peers (etcd 3.4 checks both usages on peer links).
    requests.push(
      request(`etcd-${node.name}`, `etcd-${node.name}`, 'server-and-client', {
        dnsNames: unique([node.name, 'localhost']),
        ipAddresses: unique([node.address, '127.0.0.1']),
      }),
    );
  }
  return requests;
}

/** Whether a certificate issued for `issued` still serves `wanted` (same subject, usages and SANs). */
export function sameRequest(issued: CertificateRequest, wanted: CertificateRequest): boolean {
  return JSON.stringify(normalized(issued)) === JSON.stringify(normalized(wanted));
}

function normalized(r: CertificateRequest): CertificateRequest {
  return { ...r, organizations: [...r.organizations].sort(), dnsNames: [...r.dnsNames].sort(), ipAddresses: [...r.ipAddresses].sort() };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
