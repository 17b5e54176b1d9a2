/**
 * Credentials for a Kubernetes control plane started by hand in a host set (what ZKE-style
 * provisioning will deploy for real): a CA, the apiserver's serving certificate for a host's
 * address, an admin identity, one kubelet identity per node (system:node:<name> in
 * system:nodes, as the Node authorizer expects) and the service-account key pair.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderKubeconfig } from '../../scripts/testenv/kubeconfig.js';
import { ensureLeaf, generateCa, type CertPair } from '../../scripts/testenv/pki.js';

export interface HostControlPlanePki {
  /** Files to put in a host's /etc/kubernetes, by file name. */
  files: Record<string, string>;
  /** Admin kubeconfig (O=system:masters) for https://<apiserver address>:<port>. */
  adminKubeconfig: string;
}

/** Issues everything under `dir` (on this machine) and returns the files' contents. */
export async function hostControlPlanePki(dir: string, apiserverAddress: string, port: number, nodeNames: readonly string[]): Promise<HostControlPlanePki> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pair = (name: string): CertPair => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  const ca = pair('ca');
  await generateCa(dir, ca, 'zcloud-hosts-test-ca');
  await ensureLeaf(dir, ca, pair('apiserver'), {
    kind: 'server',
    commonName: 'kube-apiserver',
    dnsNames: ['kubernetes', 'kubernetes.default'],
    ipAddresses: [apiserverAddress, '10.96.0.1'],
  });
  await ensureLeaf(dir, ca, pair('admin'), { kind: 'client', commonName: 'admin', organizations: ['system:masters'] });
  for (const node of nodeNames) {
    await ensureLeaf(dir, ca, pair(`kubelet-${node}`), { kind: 'client', commonName: `system:node:${node}`, organizations: ['system:nodes'] });
  }
  const server = `https://${apiserverAddress}:${port}`;
  const kubeconfig = (user: string, client: CertPair): string => renderKubeconfig({ clusterName: 'hosts-test', server, caPath: ca.cert, user, client });
  const files: Record<string, string> = {};
  for (const name of ['ca.crt', 'apiserver.crt', 'apiserver.key']) files[name] = readFileSync(join(dir, name), 'utf8');
  for (const node of nodeNames) files[`kubelet-${node}.kubeconfig`] = kubeconfig(`system:node:${node}`, pair(`kubelet-${node}`));
  const serviceAccount = generateKeyPairSync('rsa', { modulusLength: 2048 });
  files['sa.key'] = serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  files['sa.pub'] = serviceAccount.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const adminKubeconfig = kubeconfig('admin', pair('admin'));
  writeFileSync(join(dir, 'admin.kubeconfig'), adminKubeconfig, { mode: 0o600 });
  return { files, adminKubeconfig };
}
