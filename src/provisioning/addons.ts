import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { MANAGED_BY_LABEL, NODE_ROLE_LABEL_PREFIX, type ManifestObject } from './cluster-objects.js';
import { imageReference } from './images.js';

/**
 * The add-ons of a provisioned cluster as objects for server-side apply, from the spec alone
 * (pure): the network plugin (flannel; calico is refused at validation), CoreDNS on the cluster's DNS
 * service IP, and an nginx ingress controller on the edge nodes. Images come from the one image
 * table (images.ts).
 */

const managed = { [MANAGED_BY_LABEL]: 'zcloud' };
const kubeSystem = 'kube-system';
/** Node agents run everywhere, tainted nodes included (controlplane, etcd, not-ready). */
const tolerateEverything = [{ operator: 'Exists', effect: 'NoSchedule' }, { operator: 'Exists', effect: 'NoExecute' }];

function serviceAccount(name: string, namespace: string): ManifestObject {
  return { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace, labels: managed } };
}

function clusterRole(name: string, rules: unknown[]): ManifestObject {
  return { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name, labels: managed }, rules };
}

function bindingToServiceAccount(name: string, role: string, account: string, namespace: string): ManifestObject {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: managed },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: account, namespace }],
  };
}

/** A DaemonSet or Deployment running `podSpec` on pods labelled `labels` (its selector). */
function workload(kind: 'DaemonSet' | 'Deployment', name: string, namespace: string, labels: Record<string, string>, podSpec: Record<string, unknown>, more: Record<string, unknown> = {}): ManifestObject {
  return {
    apiVersion: 'apps/v1',
    kind,
    metadata: { name, namespace, labels: { ...managed, ...labels } },
    spec: { ...more, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: podSpec } },
  };
}

const podFieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });

/**
 * flannel with the Kubernetes subnet manager, backend host-gw over `network.iface` (or the default
 * route's interface), the cluster CIDR as its network: the same bridge, subnets and routes as
 * zcloud's own pod network (pod-network.ts), which it takes over when its pods run.
 */
export function flannelObjects(spec: ProvisionedClusterSpec): ManifestObject[] {
  const cniConf = {
    name: 'cbr0',
    cniVersion: '0.3.1',
    plugins: [{ type: 'flannel', delegate: { hairpinMode: true, isDefaultGateway: true } }, { type: 'portmap', capabilities: { portMappings: true } }],
  };
  const netConf = { Network: spec.clusterCidr, Backend: { Type: 'host-gw' } };
  const labels = { app: 'flannel', tier: 'node' };
  return [
    clusterRole('flannel', [
      { apiGroups: [''], resources: ['pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes/status'], verbs: ['patch'] },
    ]),
    serviceAccount('flannel', kubeSystem),
    bindingToServiceAccount('flannel', 'flannel', 'flannel', kubeSystem),
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-flannel-cfg', namespace: kubeSystem, labels: { ...managed, ...labels } },
      data: { 'cni-conf.json': JSON.stringify(cniConf, null, 2), 'net-conf.json': JSON.stringify(netConf, null, 2) },
    },
    workload('DaemonSet', 'kube-flannel', kubeSystem, labels, {
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      serviceAccountName: 'flannel',
      tolerations: tolerateEverything,
      initContainers: [
        {
          name: 'install-cni-plugin',
          image: imageReference('flannel-cni-plugin'),
          command: ['cp', '-f', '/flannel', '/opt/cni/bin/flannel'],
          volumeMounts: [{ name: 'cni-plugin', mountPath: '/opt/cni/bin' }],
        },
        {
          name: 'install-cni',
          image: imageReference('flannel'),
          command: ['cp', '-f', '/etc/kube-flannel/cni-conf.json', '/etc/cni/net.d/10-flannel.conflist'],
          volumeMounts: [{ name: 'cni', mountPath: '/etc/cni/net.d' }, { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' }],
        },
      ],
      containers: [
        {
          name: 'kube-flannel',
          image: imageReference('flannel'),
          command: ['/opt/bin/flanneld'],
          args: ['--ip-masq', '--kube-subnet-mgr', ...(spec.network.iface ? [`--iface=${spec.network.iface}`] : [])],
          resources: { requests: { cpu: '100m', memory: '50Mi' }, limits: { cpu: '100m', memory: '50Mi' } },
          securityContext: { privileged: false, capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
          env: [podFieldEnv('POD_NAME', 'metadata.name'), podFieldEnv('POD_NAMESPACE', 'metadata.namespace')],
          volumeMounts: [{ name: 'run', mountPath: '/run/flannel' }, { name: 'flannel-cfg', mountPath: '/etc/kube-flannel/' }],
        },
      ],
      volumes: [
        { name: 'run', hostPath: { path: '/run/flannel' } },
        { name: 'cni-plugin', hostPath: { path: '/opt/cni/bin' } },
        { name: 'cni', hostPath: { path: '/etc/cni/net.d' } },
        { name: 'flannel-cfg', configMap: { name: 'kube-flannel-cfg' } },
      ],
    }),
  ];
}

/** The Corefile: the cluster domain served from the API, everything else forwarded upstream (the spec's servers, else the node's resolv.conf). */
export function corefile(spec: ProvisionedClusterSpec): string {
  const upstream = spec.clusterUpstreamDNS.length > 0 ? spec.clusterUpstreamDNS.join(' ') : '/etc/resolv.conf';
  return [
    '.:53 {',
    '    errors',
    '    health {',
    '        lameduck 5s',
    '    }',
    '    ready',
    `    kubernetes ${spec.clusterDomain} in-addr.arpa ip6.arpa {`,
    '        pods insecure',
    '        fallthrough in-addr.arpa ip6.arpa',
    '    }',
    '    prometheus :9153',
    `    forward . ${upstream}`,
    '    cache 30',
    '    loop',
    '    reload',
    '    loadbalance',
    '}',
    '',
  ].join('\n');
}

/** CoreDNS behind the `kube-dns` service on `clusterDNSServiceIP` (what every kubelet hands its pods as `--cluster-dns`). */
export function coreDnsObjects(spec: ProvisionedClusterSpec): ManifestObject[] {
  const labels = { 'k8s-app': 'kube-dns' };
  return [
    serviceAccount('coredns', kubeSystem),
    clusterRole('system:coredns', [
      { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
      { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
    ]),
    bindingToServiceAccount('system:coredns', 'system:coredns', 'coredns', kubeSystem),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: kubeSystem, labels: managed }, data: { Corefile: corefile(spec) } },
    workload('Deployment', 'coredns', kubeSystem, labels, {
      priorityClassName: 'system-cluster-critical',
      serviceAccountName: 'coredns',
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      tolerations: [{ key: 'CriticalAddonsOnly', operator: 'Exists' }, ...tolerateEverything],
      affinity: {
        podAntiAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            { weight: 100, podAffinityTerm: { labelSelector: { matchLabels: labels }, topologyKey: 'kubernetes.io/hostname' } },
          ],
        },
      },
      dnsPolicy: 'Default',
      containers: [
        {
          name: 'coredns',
          image: imageReference('coredns'),
          args: ['-conf', '/etc/coredns/Corefile'],
          resources: { limits: { memory: '170Mi' }, requests: { cpu: '100m', memory: '70Mi' } },
          ports: [
            { name: 'dns', containerPort: 53, protocol: 'UDP' },
            { name: 'dns-tcp', containerPort: 53, protocol: 'TCP' },
            { name: 'metrics', containerPort: 9153, protocol: 'TCP' },
          ],
          securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { add: ['NET_BIND_SERVICE'], drop: ['all'] } },
          livenessProbe: { httpGet: { path: '/health', port: 8080 }, initialDelaySeconds: 60, timeoutSeconds: 5, failureThreshold: 5 },
          readinessProbe: { httpGet: { path: '/ready', port: 8181 } },
          volumeMounts: [{ name: 'config-volume', mountPath: '/etc/coredns', readOnly: true }],
        },
      ],
      volumes: [{ name: 'config-volume', configMap: { name: 'coredns', items: [{ key: 'Corefile', path: 'Corefile' }] } }],
    }, { replicas: 2, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } } }),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'kube-dns', namespace: kubeSystem, labels: { ...managed, ...labels, 'kubernetes.io/name': 'CoreDNS' } },
      spec: {
        selector: labels,
        clusterIP: spec.clusterDNSServiceIP,
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP' },
          { name: 'dns-tcp', port: 53, protocol: 'TCP' },
          { name: 'metrics', port: 9153, protocol: 'TCP' },
        ],
      },
    },
  ];
}

export const INGRESS_NAMESPACE = 'ingress-nginx';

/** The nginx ingress controller on every edge node, on the host network (ports 80 and 443 of the node), as ZKE ran it. */
export function ingressObjects(): ManifestObject[] {
  const labels = { 'app.kubernetes.io/name': 'ingress-nginx', 'app.kubernetes.io/component': 'controller' };
  const account = 'nginx-ingress-serviceaccount';
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: INGRESS_NAMESPACE, labels: managed } },
    serviceAccount(account, INGRESS_NAMESPACE),
    clusterRole('nginx-ingress-clusterrole', [
      { apiGroups: [''], resources: ['configmaps', 'endpoints', 'nodes', 'pods', 'secrets'], verbs: ['list', 'watch'] },
      { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
      { apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create', 'patch'] },
      // Leader election of the controllers through a configmap in their namespace.
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'create', 'update'] },
      { apiGroups: ['extensions', 'networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['extensions', 'networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
    ]),
    bindingToServiceAccount('nginx-ingress-clusterrole-binding', 'nginx-ingress-clusterrole', account, INGRESS_NAMESPACE),
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nginx-configuration', namespace: INGRESS_NAMESPACE, labels: managed } },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: 'nginx', labels: managed, annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } },
      spec: { controller: 'k8s.io/ingress-nginx' },
    },
    workload('DaemonSet', 'nginx-ingress-controller', INGRESS_NAMESPACE, labels, {
      hostNetwork: true,
      dnsPolicy: 'ClusterFirstWithHostNet',
      serviceAccountName: account,
      nodeSelector: { [`${NODE_ROLE_LABEL_PREFIX}edge`]: 'true' },
      tolerations: tolerateEverything,
      containers: [
        {
          name: 'nginx-ingress-controller',
          image: imageReference('nginx-ingress-controller'),
          args: [
            '/nginx-ingress-controller',
            '--configmap=$(POD_NAMESPACE)/nginx-configuration',
            '--election-id=ingress-controller-leader',
            '--ingress-class=nginx',
          ],
          securityContext: { allowPrivilegeEscalation: true, runAsUser: 101, capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] } },
          env: [podFieldEnv('POD_NAME', 'metadata.name'), podFieldEnv('POD_NAMESPACE', 'metadata.namespace')],
          ports: [{ name: 'http', containerPort: 80 }, { name: 'https', containerPort: 443 }],
          livenessProbe: { httpGet: { path: '/healthz', port: 10254 }, initialDelaySeconds: 10, timeoutSeconds: 10, failureThreshold: 3 },
          readinessProbe: { httpGet: { path: '/healthz', port: 10254 }, timeoutSeconds: 10, failureThreshold: 3 },
        },
      ],
    }),
  ];
}

/**
 * Every add-on object in apply order (namespaces before what lives in them). The network add-on
 * is flannel: a create asking for calico is refused with 422 (ProvisionedClusterInputSchema).
 */
export function addonObjects(spec: ProvisionedClusterSpec): ManifestObject[] {
  return [...flannelObjects(spec), ...coreDnsObjects(spec), ...ingressObjects()];
}
