import { readFileSync, writeFileSync } from 'node:fs';
import yaml from 'js-yaml';
import type { CertPair } from './pki.js';

export interface KubeconfigSpec {
  clusterName: string;
  server: string;
  caPath: string;
  user: string;
  client: CertPair;
}

/** A kubeconfig with the CA, certificate and key embedded, so the file alone is enough to connect. */
export function renderKubeconfig(spec: KubeconfigSpec): string {
  const base64 = (path: string): string => readFileSync(path).toString('base64');
  const context = `${spec.user}@${spec.clusterName}`;
  return yaml.dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      { name: spec.clusterName, cluster: { server: spec.server, 'certificate-authority-data': base64(spec.caPath) } },
    ],
    users: [
      {
        name: spec.user,
        user: { 'client-certificate-data': base64(spec.client.cert), 'client-key-data': base64(spec.client.key) },
      },
    ],
    contexts: [{ name: context, context: { cluster: spec.clusterName, user: spec.user } }],
    'current-context': context,
    preferences: {},
  });
}

/** Writes the kubeconfig readable by its owner only: it holds a private key. */
export function writeKubeconfig(path: string, spec: KubeconfigSpec): void {
  writeFileSync(path, renderKubeconfig(spec), { mode: 0o600 });
}
