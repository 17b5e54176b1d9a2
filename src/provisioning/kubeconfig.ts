import yaml from 'js-yaml';

/** A kubeconfig with everything embedded (no file references): for hosts and for zcloud itself. */
export function renderEmbeddedKubeconfig(options: { cluster: string; server: string; caPem: string; user: string; certPem: string; keyPem: string }): string {
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: options.cluster, cluster: { server: options.server, 'certificate-authority-data': b64(options.caPem) } }],
    users: [{ name: options.user, user: { 'client-certificate-data': b64(options.certPem), 'client-key-data': b64(options.keyPem) } }],
    contexts: [{ name: options.cluster, context: { cluster: options.cluster, user: options.user } }],
    'current-context': options.cluster,
  });
}

/** The admin kubeconfig (kube-admin, system:masters) of a provisioned cluster: what zcloud itself uses, and `getkubeconfig` will return. */
export function adminKubeconfig(cluster: string, server: string, pki: { ca: { certPem: string }; certificates: Record<string, { certPem: string; keyPem: string }> }): string {
  const admin = pki.certificates['kube-admin'];
  if (!admin) throw new Error(`the PKI of ${cluster} has no kube-admin certificate`);
  return renderEmbeddedKubeconfig({ cluster, server, caPem: pki.ca.certPem, user: 'kube-admin', certPem: admin.certPem, keyPem: admin.keyPem });
}
