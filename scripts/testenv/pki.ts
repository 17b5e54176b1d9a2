import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.js';

/** A certificate and its key, as PEM file paths. */
export interface CertPair {
  cert: string;
  key: string;
}

/** Every credential one test cluster uses. All files live in the cluster's `pki/` directory. */
export interface ClusterPki {
  ca: CertPair;
  apiserver: CertPair;
  /** Serving certificate of the controller-manager's and scheduler's health ports, so probes can verify them. */
  componentServing: CertPair;
  /** O=system:masters: what `kubeconfig` and the tests use. */
  admin: CertPair;
  /** O=system:masters as well, but its own identity so its writes are told apart in audit and managedFields. */
  nodeSimulator: CertPair;
  /** The simulated kubelets' serving certificate (127.0.0.1), which the apiserver verifies with the CA. */
  kubeletServing: CertPair;
  /** What the apiserver presents to kubelets (`--kubelet-client-certificate`), as kubeadm's apiserver-kubelet-client. */
  kubeletClient: CertPair;
  controllerManager: CertPair;
  scheduler: CertPair;
  serviceAccount: { privateKey: string; publicKey: string };
  /**
   * The aggregation layer's pair, as kubeadm sets it up: a CA of its own whose client
   * `front-proxy-client` the apiserver uses towards aggregated API servers, and which they
   * (and the controller-manager's and scheduler's delegated authentication) trust for
   * request headers.
   */
  frontProxyCa: CertPair;
  frontProxyClient: CertPair;
}

/** A client identity: the CN is the user name, each O a group (how the apiserver maps X.509 subjects). */
export interface ClientSubject {
  kind: 'client';
  commonName: string;
  organizations: string[];
}
export interface ServerSubject {
  kind: 'server';
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/**
 * Names the apiserver is reached by. 10.96.0.1 is the `kubernetes` Service's cluster IP in the
 * range we give the apiserver; it is only ever written into the certificate, never dialled.
 */
const apiserverSubject: ServerSubject = {
  kind: 'server',
  commonName: 'kube-apiserver',
  dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
  ipAddresses: ['127.0.0.1', '10.96.0.1'],
};

const componentServingSubject: ServerSubject = {
  kind: 'server',
  commonName: 'testenv-components',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
};

const kubeletServingSubject: ServerSubject = {
  kind: 'server',
  commonName: 'testenv-kubelet',
  dnsNames: ['localhost'],
  ipAddresses: ['127.0.0.1'],
};

/** The kubelets accept this client only: the apiserver. */
export const kubeletClientName = 'kube-apiserver-kubelet-client';

const clients = {
  admin: { kind: 'client', commonName: 'testenv-admin', organizations: ['system:masters'] },
  nodeSimulator: { kind: 'client', commonName: 'testenv-node-simulator', organizations: ['system:masters'] },
  // The names the default RBAC bootstrap policy grants these components' permissions to. The
  // controller-manager runs its controllers with its own identity (no per-controller service
  // accounts, see components.ts), which needs more than its bootstrap role: hence masters.
  controllerManager: { kind: 'client', commonName: 'system:kube-controller-manager', organizations: ['system:masters'] },
  scheduler: { kind: 'client', commonName: 'system:kube-scheduler', organizations: [] },
  frontProxyClient: { kind: 'client', commonName: 'front-proxy-client', organizations: [] },
  kubeletClient: { kind: 'client', commonName: kubeletClientName, organizations: ['system:masters'] },
} satisfies Record<string, ClientSubject>;

/** Long enough that a developer's test cluster never expires under them. */
const validityDays = '3650';

export function pkiPaths(dir: string): ClusterPki {
  const pair = (name: string): CertPair => ({ cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) });
  return {
    ca: pair('ca'),
    apiserver: pair('apiserver'),
    componentServing: pair('component-serving'),
    admin: pair('admin'),
    nodeSimulator: pair('node-simulator'),
    kubeletServing: pair('kubelet-serving'),
    kubeletClient: pair('kubelet-client'),
    controllerManager: pair('controller-manager'),
    scheduler: pair('scheduler'),
    serviceAccount: { privateKey: join(dir, 'sa.key'), publicKey: join(dir, 'sa.pub') },
    frontProxyCa: pair('front-proxy-ca'),
    frontProxyClient: pair('front-proxy-client'),
  };
}

/**
 * Creates whatever credentials are missing in `dir` with the openssl CLI (ECDSA P-256: fast to
 * generate, and supported by every component). Existing files are kept, so a restarted
 * cluster keeps its CA and every kubeconfig handed out stays valid. Without a CA, everything
 * is made anew, since old leaves would not chain to a new CA.
 */
export async function ensurePki(dir: string, clusterName: string): Promise<ClusterPki> {
  const pki = pkiPaths(dir);
  if (!existsSync(pki.ca.cert) || !existsSync(pki.ca.key)) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    await generateCa(dir, pki.ca, `zcloud-testenv-ca-${clusterName}`);
  }
  if (!existsSync(pki.frontProxyCa.cert) || !existsSync(pki.frontProxyCa.key)) {
    await generateCa(dir, pki.frontProxyCa, `zcloud-testenv-front-proxy-ca-${clusterName}`);
    rmSync(pki.frontProxyClient.cert, { force: true });
  }
  await ensureLeaf(dir, pki.frontProxyCa, pki.frontProxyClient, clients.frontProxyClient);
  await ensureLeaf(dir, pki.ca, pki.apiserver, apiserverSubject);
  await ensureLeaf(dir, pki.ca, pki.componentServing, componentServingSubject);
  await ensureLeaf(dir, pki.ca, pki.kubeletServing, kubeletServingSubject);
  for (const name of ['admin', 'nodeSimulator', 'controllerManager', 'scheduler', 'kubeletClient'] as const) {
    await ensureLeaf(dir, pki.ca, pki[name], clients[name]);
  }
  if (!existsSync(pki.serviceAccount.privateKey) || !existsSync(pki.serviceAccount.publicKey)) {
    await generateKey(pki.serviceAccount.privateKey);
    await run('openssl', ['pkey', '-in', pki.serviceAccount.privateKey, '-pubout', '-out', pki.serviceAccount.publicKey]);
  }
  return pki;
}

/** Makes a self-signed CA (key and certificate) in `dir`. */
export async function generateCa(dir: string, ca: CertPair, commonName: string): Promise<void> {
  await generateKey(ca.key);
  const config = writeConfig(dir, 'ca', [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
    'subjectKeyIdentifier = hash',
  ]);
  await run('openssl', [
    'req', '-x509', '-new', '-key', ca.key, '-subj', `/CN=${commonName}`,
    '-days', validityDays, '-sha256', '-config', config, '-extensions', 'v3', '-out', ca.cert,
  ]);
  rmSync(config);
}

async function generateKey(path: string): Promise<void> {
  await run('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

/** Issues `pair` from `ca` for `subject`, unless both files exist. */
export async function ensureLeaf(dir: string, ca: CertPair, pair: CertPair, subject: ClientSubject | ServerSubject): Promise<void> {
  if (existsSync(pair.cert) && existsSync(pair.key)) return;
  await generateKey(pair.key);
  const csr = `${pair.cert}.csr`;
  const subj =
    subject.kind === 'client'
      ? `/${subject.organizations.map((o) => `O=${o}/`).join('')}CN=${subject.commonName}`
      : `/CN=${subject.commonName}`;
  await run('openssl', ['req', '-new', '-key', pair.key, '-subj', subj, '-out', csr]);
  const extensions =
    subject.kind === 'client'
      ? ['keyUsage = critical, digitalSignature, keyEncipherment', 'extendedKeyUsage = clientAuth']
      : [
          'keyUsage = critical, digitalSignature, keyEncipherment',
          'extendedKeyUsage = serverAuth',
          `subjectAltName = ${[...subject.dnsNames.map((n) => `DNS:${n}`), ...subject.ipAddresses.map((ip) => `IP:${ip}`)].join(', ')}`,
        ];
  const config = writeConfig(dir, 'leaf', ['basicConstraints = critical, CA:FALSE', ...extensions]);
  await run('openssl', [
    'x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
    '-days', validityDays, '-sha256', '-extfile', config, '-extensions', 'v3', '-out', pair.cert,
  ]);
  rmSync(csr);
  rmSync(config);
}

/** An openssl config with a `v3` extensions section (and the empty DN section `req` insists on). */
function writeConfig(dir: string, name: string, extensions: string[]): string {
  const path = join(dir, `${name}.cnf`);
  writeFileSync(path, ['[req]', 'distinguished_name = dn', '[dn]', '[v3]', ...extensions, ''].join('\n'));
  return path;
}
