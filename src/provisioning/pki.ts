// @peculiar/x509 resolves its ASN.1 parts through decorator metadata; the polyfill must load first.
import 'reflect-metadata';
import { createHash, randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { z } from 'zod';
import type { ProvisionedClusterSpec } from '../clusters/provisioning-spec.js';
import { planCertificates, sameRequest, type CertificateIssuer, type CertificateRequest } from './certificate-plan.js';
import type { SecretBox } from '../store/secret-box.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/**
 * The PKI of one provisioned cluster: two CAs, the service-account key pair and every leaf
 * certificate of certificate-plan.ts. Keys are ECDSA P-256 (node:crypto's WebCrypto), PEM in
 * PKCS#8, which etcd and every Kubernetes component read.
 *
 * Stored form (`StoredClusterPki`): certificates in clear, every private key sealed by the data
 * dir's SecretBox; the open form (`ClusterPki`) exists only in memory while a run needs it.
 */

const CA_VALIDITY_DAYS = 3650;
/** Leaf certificates last a year; the daily expiry check (maintenance.ts) renews them 30 days before. */
const LEAF_VALIDITY_DAYS = 365;
const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface IssuedCertificate extends KeyPair {
  request: CertificateRequest;
}

export interface ClusterPki {
  ca: KeyPair;
  frontProxyCa: KeyPair;
  serviceAccount: { publicKeyPem: string; privateKeyPem: string };
  certificates: Record<string, IssuedCertificate>;
}

const CertificateRequestSchema = z.object({
  id: z.string(),
  issuer: z.enum(['ca', 'front-proxy-ca']),
  commonName: z.string(),
  organizations: z.array(z.string()),
  usage: z.enum(['server', 'client', 'server-and-client']),
  dnsNames: z.array(z.string()),
  ipAddresses: z.array(z.string()),
});
const SealedKeyPairSchema = z.object({ certPem: z.string().startsWith('-----BEGIN CERTIFICATE-----'), sealedKey: z.string() });

export const StoredClusterPkiSchema = z.object({
  cluster: z.string(),
  ca: SealedKeyPairSchema,
  frontProxyCa: SealedKeyPairSchema,
  serviceAccount: z.object({ publicKeyPem: z.string(), sealedKey: z.string() }),
  certificates: z.record(z.string(), SealedKeyPairSchema.extend({ request: CertificateRequestSchema })),
});
export type StoredClusterPki = z.infer<typeof StoredClusterPkiSchema>;

/** SHA-256 of the CA certificate's DER, hex: what an operator compares to tell two CAs apart. */
export function certificateFingerprint(certPem: string): string {
  return createHash('sha256').update(Buffer.from(new x509.X509Certificate(certPem).rawData)).digest('hex');
}

/**
 * The cluster's PKI with every certificate today's spec needs: the CAs and service-account key
 * of `existing` are kept (so nodes keep trusting the cluster), a certificate whose request is
 * unchanged is kept, and a missing or changed one is issued. `changed` says whether anything
 * was generated, i.e. whether the stored form must be written.
 */
export async function completeClusterPki(
  spec: ProvisionedClusterSpec,
  existing: ClusterPki | undefined,
  now = new Date(),
  /** Leaf certificates that expire before this are issued again (renewal); default: none. */
  renewBefore?: Date,
): Promise<{ pki: ClusterPki; changed: boolean; renewed: string[] }> {
  const renewed: string[] = [];
  let changed = existing === undefined;
  const ca = existing?.ca ?? (await issueCa('kube-ca', now));
  const frontProxyCa = existing?.frontProxyCa ?? (await issueCa('front-proxy-ca', now));
  const serviceAccount = existing?.serviceAccount ?? (await newServiceAccountKeys());
  const issuers: Record<CertificateIssuer, KeyPair> = { ca, 'front-proxy-ca': frontProxyCa };
  const certificates: Record<string, IssuedCertificate> = {};
  for (const wanted of planCertificates(spec)) {
    const held = existing?.certificates[wanted.id];
    const expiring = held !== undefined && renewBefore !== undefined && certificateNotAfter(held.certPem) < renewBefore;
    if (held && sameRequest(held.request, wanted) && !expiring) {
      certificates[wanted.id] = held;
      continue;
    }
    if (expiring) renewed.push(wanted.id);
    certificates[wanted.id] = { request: wanted, ...(await issueLeaf(wanted, issuers[wanted.issuer], now)) };
    changed = true;
  }
  // A certificate of a node that left the spec is dropped with it.
  if (existing && Object.keys(existing.certificates).some((id) => !(id in certificates))) changed = true;
  return { pki: { ca, frontProxyCa, serviceAccount, certificates }, changed, renewed };
}

export function certificateNotAfter(certPem: string): Date {
  return new x509.X509Certificate(certPem).notAfter;
}

/** The serial number, hex, as `openssl x509 -serial` prints it (upper case). */
export function certificateSerial(certPem: string): string {
  return new x509.X509Certificate(certPem).serialNumber.toUpperCase();
}

export function sealPki(cluster: string, pki: ClusterPki, box: SecretBox): StoredClusterPki {
  const seal = (pem: string, what: string) => box.seal(pem, `pki/${cluster}/${what}`);
  return {
    cluster,
    ca: { certPem: pki.ca.certPem, sealedKey: seal(pki.ca.keyPem, 'ca') },
    frontProxyCa: { certPem: pki.frontProxyCa.certPem, sealedKey: seal(pki.frontProxyCa.keyPem, 'front-proxy-ca') },
    serviceAccount: { publicKeyPem: pki.serviceAccount.publicKeyPem, sealedKey: seal(pki.serviceAccount.privateKeyPem, 'service-account') },
    certificates: Object.fromEntries(
      Object.entries(pki.certificates).map(([id, c]) => [id, { request: c.request, certPem: c.certPem, sealedKey: seal(c.keyPem, `cert/${id}`) }]),
    ),
  };
}

export function openPki(stored: StoredClusterPki, box: SecretBox): ClusterPki {
  const open = (sealed: string, what: string) => box.open(sealed, `pki/${stored.cluster}/${what}`);
  return {
    ca: { certPem: stored.ca.certPem, keyPem: open(stored.ca.sealedKey, 'ca') },
    frontProxyCa: { certPem: stored.frontProxyCa.certPem, keyPem: open(stored.frontProxyCa.sealedKey, 'front-proxy-ca') },
    serviceAccount: { publicKeyPem: stored.serviceAccount.publicKeyPem, privateKeyPem: open(stored.serviceAccount.sealedKey, 'service-account') },
    certificates: Object.fromEntries(
      Object.entries(stored.certificates).map(([id, c]) => [id, { request: c.request, certPem: c.certPem, keyPem: open(c.sealedKey, `cert/${id}`) }]),
    ),
  };
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey({ name: ALGORITHM.name, namedCurve: ALGORITHM.namedCurve }, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey), 'PRIVATE KEY');
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return (await webcrypto.subtle.importKey('pkcs8', der, { name: ALGORITHM.name, namedCurve: ALGORITHM.namedCurve }, false, ['sign'])) as CryptoKey;
}

async function newServiceAccountKeys(): Promise<ClusterPki['serviceAccount']> {
  const keys = await newKeys();
  const spki = await webcrypto.subtle.exportKey('spki', keys.publicKey as webcrypto.CryptoKey);
  return { publicKeyPem: x509.PemConverter.encode(spki, 'PUBLIC KEY'), privateKeyPem: await privateKeyPem(keys.privateKey) };
}

/** A positive 128-bit serial, as RFC 5280 asks (at most 20 octets, not negative). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
}

function validity(now: Date, days: number): { notBefore: Date; notAfter: Date } {
  // An hour of slack for hosts whose clock runs behind zcloud's.
  return { notBefore: new Date(now.getTime() - 3_600_000), notAfter: new Date(now.getTime() + days * 86_400_000) };
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

async function issueCa(commonName: string, now: Date): Promise<KeyPair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=${escapeRdn(commonName)}`,
    ...validity(now, CA_VALIDITY_DAYS),
    keys,
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}

async function issueLeaf(request: CertificateRequest, issuer: KeyPair, now: Date): Promise<KeyPair> {
  const keys = await newKeys();
  const issuerCert = new x509.X509Certificate(issuer.certPem);
  const usages: string[] = [];
  if (request.usage !== 'client') usages.push(x509.ExtendedKeyUsage.serverAuth);
  if (request.usage !== 'server') usages.push(x509.ExtendedKeyUsage.clientAuth);
  const subject = [`CN=${escapeRdn(request.commonName)}`, ...request.organizations.map((o) => `O=${escapeRdn(o)}`)].join(', ');
  const altNames = [...request.dnsNames.map((value) => ({ type: 'dns' as const, value })), ...request.ipAddresses.map((value) => ({ type: 'ip' as const, value }))];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: issuerCert.subject,
    ...validity(now, LEAF_VALIDITY_DAYS),
    publicKey: keys.publicKey,
    signingKey: await importPrivateKey(issuer.keyPem),
    signingAlgorithm: ALGORITHM,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.AuthorityKeyIdentifierExtension.create(issuerCert, false),
      ...(altNames.length > 0 ? [new x509.SubjectAlternativeNameExtension(altNames, false)] : []),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await privateKeyPem(keys.privateKey) };
}
