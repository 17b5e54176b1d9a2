import ssh2 from 'ssh2';
import { z } from 'zod';
import { kubernetesVersion as providedKubernetesVersion } from '../provisioning/images.js';

/**
 * The desired shape of a cluster zcloud provisions over SSH (ZKE's cluster.yml, as the seed's
 * `cluster` create fields carry it). One schema parses the API body (aliases, defaults) and the
 * stored record, and its refinements are every check that can be made without touching a host:
 * a body that passes here is the only thing the provisioner ever acts on.
 */

export const nodeRoles = ['controlplane', 'etcd', 'worker', 'edge'] as const;
export type NodeRole = (typeof nodeRoles)[number];

/** Kubernetes node names are DNS-1123 subdomains. */
const Dns1123Subdomain = z
  .string()
  .max(253, 'must be at most 253 characters')
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS-1123 name: lower-case letters, digits, "-" and "."');

const Ipv4Cidr = z.string().regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, 'must be an IPv4 CIDR like 10.42.0.0/16').refine((s) => parseCidr(s) !== undefined, 'must be an IPv4 CIDR like 10.42.0.0/16');

export const ProvisionedNodeSchema = z.object({
  name: Dns1123Subdomain,
  address: z.ipv4('must be an IPv4 address'),
  roles: z
    .array(z.enum(nodeRoles))
    .min(1, 'must name at least one role')
    .refine((roles) => new Set(roles).size === roles.length, 'must not repeat a role'),
});
export type ProvisionedNode = z.infer<typeof ProvisionedNodeSchema>;

export const PrivateRegistrySchema = z.object({
  url: z.string().min(1, 'must not be empty'),
  user: z.string().default(''),
  password: z.string().default(''),
  cacert: z.string().default(''),
});

/** The seed sends the port as a string; stored as a number. */
const SshPort = z.preprocess(
  (value) => (typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value),
  z.number({ error: 'must be a port number' }).int('must be a port number').min(1, 'must be 1-65535').max(65535, 'must be 1-65535'),
);

/** The fields of the spec, before the cross-field checks. */
const SpecFields = z.object({
  nodes: z.array(ProvisionedNodeSchema).min(1, 'must list at least one node'),
  network: z
    .object({ plugin: z.enum(['flannel', 'calico']).default('flannel'), iface: z.string().default('') })
    .default({ plugin: 'flannel', iface: '' }),
  sshUser: z.string().min(1, 'must not be empty'),
  sshPort: SshPort.default(22),
  sshKey: z.string().min(1, 'must not be empty').refine(isUsablePrivateKey, 'is not an unencrypted OpenSSH/PEM private key'),
  clusterCidr: Ipv4Cidr.default('10.42.0.0/16'),
  serviceCidr: Ipv4Cidr.default('10.43.0.0/16'),
  clusterDomain: Dns1123Subdomain.default('cluster.local'),
  clusterDNSServiceIP: z.ipv4('must be an IPv4 address').default('10.43.0.10'),
  clusterUpstreamDNS: z.array(z.ipv4('must be an IPv4 address')).default([]),
  singlecloudAddress: z.string().default(''),
  kubernetesVersion: z
    .string()
    .default(providedKubernetesVersion)
    .refine((v) => v === providedKubernetesVersion, `only ${providedKubernetesVersion} can be provisioned (the images of src/provisioning/images.ts)`),
  dockerSocket: z.string().regex(/^\/\S+$/, 'must be an absolute path').default('/var/run/docker.sock'),
  ignoreDockerVersion: z.boolean().default(false),
  disablePortCheck: z.boolean().default(false),
  privateRegistries: z.array(PrivateRegistrySchema).default([]),
});

/** The stored, defaulted spec of a provisioned cluster. */
export const ProvisionedClusterSpecSchema = SpecFields.superRefine((spec, ctx) => {
  for (const issue of crossFieldIssues(spec)) ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
});
export type ProvisionedClusterSpec = z.output<typeof ProvisionedClusterSpecSchema>;

/**
 * The names the web client and the seed really send: the client writes `singleCloudAddress`,
 * the seed spells `kubernetsVersion`. The canonical name wins when both are present.
 */
const fieldAliases: Readonly<Record<string, keyof ProvisionedClusterSpec>> = {
  singleCloudAddress: 'singlecloudAddress',
  kubernetsVersion: 'kubernetesVersion',
};

export function canonicalFieldNames(body: unknown): unknown {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return body;
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>) };
  for (const [alias, canonical] of Object.entries(fieldAliases)) {
    if (alias in out) {
      if (out[canonical] === undefined) out[canonical] = out[alias];
      delete out[alias];
    }
  }
  return out;
}

/**
 * The spec part of an API create body (aliases accepted; `name` is the caller's to check).
 * `network.plugin: calico` is refused here, not in the stored form (a record written before
 * keeps loading): calico's images and CRDs are not something zcloud can apply yet.
 */
export const ProvisionedClusterInputSchema = z.preprocess(
  canonicalFieldNames,
  ProvisionedClusterSpecSchema.superRefine((spec, ctx) => {
    if (spec.network.plugin === 'calico') ctx.addIssue({ code: 'custom', path: ['network', 'plugin'], message: 'calico is not supported yet; use flannel' });
  }),
);

interface SpecIssue {
  path: (string | number)[];
  message: string;
}

/** Every check that spans fields; in the order a client would fix them. */
export function crossFieldIssues(spec: z.output<typeof SpecFields>): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const seenNames = new Map<string, number>();
  const seenAddresses = new Map<string, number>();
  spec.nodes.forEach((node, i) => {
    const nameAt = seenNames.get(node.name);
    if (nameAt !== undefined) issues.push({ path: ['nodes', i, 'name'], message: `duplicates the name of nodes.${nameAt}` });
    else seenNames.set(node.name, i);
    const addressAt = seenAddresses.get(node.address);
    if (addressAt !== undefined) issues.push({ path: ['nodes', i, 'address'], message: `duplicates the address of nodes.${addressAt}` });
    else seenAddresses.set(node.address, i);
  });
  for (const role of ['etcd', 'controlplane', 'worker'] as const) {
    if (!spec.nodes.some((n) => n.roles.includes(role))) issues.push({ path: ['nodes'], message: `must hold at least one ${role} node` });
  }
  const service = parseCidr(spec.serviceCidr);
  const pods = parseCidr(spec.clusterCidr);
  if (service && pods && overlaps(service, pods)) issues.push({ path: ['serviceCidr'], message: `overlaps clusterCidr ${spec.clusterCidr}` });
  const dnsIp = parseIpv4(spec.clusterDNSServiceIP);
  if (service && dnsIp !== undefined && !contains(service, dnsIp)) {
    issues.push({ path: ['clusterDNSServiceIP'], message: `must lie inside serviceCidr ${spec.serviceCidr}` });
  }
  if (service && dnsIp !== undefined && dnsIp === service.first + 1) {
    // The first service IP is the apiserver's `kubernetes` service.
    issues.push({ path: ['clusterDNSServiceIP'], message: 'must not be the first service IP (the kubernetes service holds it)' });
  }
  return issues;
}

function isUsablePrivateKey(text: string): boolean {
  const parsed = ssh2.utils.parseKey(text);
  if (parsed instanceof Error) return false;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return key !== undefined && key.isPrivateKey();
}

/** An IPv4 range as unsigned 32-bit numbers, network and broadcast included. */
export interface Ipv4Range {
  first: number;
  last: number;
}

export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

export function parseCidr(text: string): Ipv4Range | undefined {
  const [address, bitsText] = text.split('/');
  const start = parseIpv4(address ?? '');
  const bits = Number(bitsText);
  if (start === undefined || !/^\d{1,2}$/.test(bitsText ?? '') || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const first = start - (start % size);
  return { first, last: first + size - 1 };
}

function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

function contains(range: Ipv4Range, ip: number): boolean {
  return ip >= range.first && ip <= range.last;
}

/** The first usable IP of the service CIDR: the `kubernetes` service, hence a SAN of the apiserver. */
export function kubernetesServiceIp(spec: Pick<ProvisionedClusterSpec, 'serviceCidr'>): string {
  const range = parseCidr(spec.serviceCidr);
  if (!range) throw new Error(`serviceCidr ${spec.serviceCidr} is not a CIDR`);
  return formatIpv4(range.first + 1);
}

/**
 * The spec as the API shows it: the seed's output names, never the SSH key nor a registry
 * password (a registry only says whether it has one).
 */
export function publicSpecView(spec: ProvisionedClusterSpec): Record<string, unknown> {
  return {
    nodes: spec.nodes.map((n) => ({ name: n.name, address: n.address, roles: [...n.roles] })),
    network: { ...spec.network },
    sshUser: spec.sshUser,
    sshPort: String(spec.sshPort),
    clusterCidr: spec.clusterCidr,
    serviceCidr: spec.serviceCidr,
    clusterDomain: spec.clusterDomain,
    clusterDNSServiceIP: spec.clusterDNSServiceIP,
    clusterUpstreamDNS: [...spec.clusterUpstreamDNS],
    singleCloudAddress: spec.singlecloudAddress,
    kubernetesVersion: spec.kubernetesVersion,
    dockerSocket: spec.dockerSocket,
    ignoreDockerVersion: spec.ignoreDockerVersion,
    disablePortCheck: spec.disablePortCheck,
    privateRegistries: spec.privateRegistries.map((r) => ({ url: r.url, user: r.user, hasPassword: r.password !== '', caCert: r.cacert })),
  };
}
