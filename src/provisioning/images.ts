/**
 * The container images zcloud runs on the nodes it provisions, ZKE-style (every Kubernetes part
 * a Docker container on the host network). One table: an operator with a private registry or a
 * mirror changes the repository (or a tag) here and nowhere else. The test world builds images
 * under exactly these names and loads them into its hosts' Docker daemons
 * (scripts/testenv/hosts/images.ts), since no registry is reachable there.
 *
 * Pure data: no I/O, no validation library, safe to import from anywhere.
 */

/** What an image is for on a provisioned node. */
export const imageRoles = [
  'etcd',
  'kube-apiserver',
  'kube-controller-manager',
  'kube-scheduler',
  'kubelet',
  'kube-proxy',
  'apiserver-proxy',
  'pause',
  'base',
  'cni-plugins',
  'flannel',
  'flannel-cni-plugin',
  'coredns',
  'nginx-ingress-controller',
] as const;
export type ImageRole = (typeof imageRoles)[number];

/** One image name without its repository: `kube-apiserver` + `v1.20.2`. */
export interface ImageName {
  name: string;
  tag: string;
}

/** The Kubernetes release zcloud provisions. */
export const kubernetesVersion = 'v1.20.2';

/** Where the default images live; `zcloud/kube-apiserver:v1.20.2` etc. */
export const defaultImageRepository = 'zcloud';

/**
 * The default image of every role. etcd's tag is the etcd release (Debian bookworm's 3.4);
 * pause's is the pause version Kubernetes 1.20's kubelet expects; `base` is a minimal shell
 * (busybox) for containers that only need one, e.g. to prepare host directories.
 */
export const defaultImages: Readonly<Record<ImageRole, ImageName>> = {
  etcd: { name: 'etcd', tag: 'v3.4.23' },
  'kube-apiserver': { name: 'kube-apiserver', tag: kubernetesVersion },
  'kube-controller-manager': { name: 'kube-controller-manager', tag: kubernetesVersion },
  'kube-scheduler': { name: 'kube-scheduler', tag: kubernetesVersion },
  kubelet: { name: 'kubelet', tag: kubernetesVersion },
  'kube-proxy': { name: 'kube-proxy', tag: kubernetesVersion },
  // The local apiserver proxy of non-controlplane hosts (RKE's nginx-proxy idea): HAProxy in TCP mode.
  'apiserver-proxy': { name: 'haproxy', tag: '2.6' },
  pause: { name: 'pause', tag: '3.2' },
  base: { name: 'busybox', tag: '1.35.0' },
  // The CNI plugins (bridge, host-local, loopback) under /opt/cni-plugins, copied onto each host by a one-shot container.
  'cni-plugins': { name: 'cni-plugins', tag: 'v1.1.1' },
  // Add-ons, run by the cluster itself as pods (pulled by the kubelets, not loaded by zcloud).
  flannel: { name: 'flannel', tag: 'v0.15.1' },
  'flannel-cni-plugin': { name: 'flannel-cni-plugin', tag: 'v1.0.0' },
  coredns: { name: 'coredns', tag: '1.8.0' },
  'nginx-ingress-controller': { name: 'nginx-ingress-controller', tag: 'v0.43.0' },
};

/** The full reference of `role`'s image: `<repository>/<name>:<tag>`. */
export function imageReference(role: ImageRole, repository: string = defaultImageRepository): string {
  const image = defaultImages[role];
  return `${repository}/${image.name}:${image.tag}`;
}
