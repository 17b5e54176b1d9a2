import { readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cron from 'node-cron';
import { z } from 'zod';
import { ConfigError } from './errors.js';

/** Parses "90", "90s", "15m", "24h", "7d" into milliseconds. */
const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'a duration like 30s, 15m, 24h or a number of seconds')
  .transform((text) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text)!;
    const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    const unitMs = units[match[2] ?? 's'] ?? 1000;
    return Number(match[1]) * unitMs;
  });

const port = z.coerce.number().int().min(0).max(65535);

/** A node-cron expression: five fields (minute first), or six with seconds first. */
const cronExpression = z.string().refine((text) => cron.validate(text), 'a cron expression like "0 */12 * * *" (minute hour day month weekday)');

/** Names proxy-addr (Express's `trust proxy`) knows for address ranges. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];
const IPV4_OR_CIDR = /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/;
const IPV6_OR_CIDR = /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*(\/\d{1,3})?$/;

/** Comma-separated addresses, CIDRs or range names; empty trusts no proxy. */
const trustedProxies = z
  .string()
  .transform((text) => text.split(',').map((entry) => entry.trim()).filter(Boolean))
  .refine(
    (entries) => entries.every((e) => PROXY_RANGE_NAMES.includes(e) || IPV4_OR_CIDR.test(e) || IPV6_OR_CIDR.test(e)),
    'a comma-separated list of addresses, CIDRs, loopback, linklocal or uniquelocal',
  );

/** A directory that exists, made absolute; empty means none. */
const optionalDirectory = z
  .string()
  .transform((text) => (text.trim() === '' ? undefined : path.resolve(text)))
  .refine((dir) => dir === undefined || isDirectory(dir), 'must be an existing directory');

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false; // absent or unreadable: refused with the key's name by the refine above
  }
}

/**
 * Every setting, its env var, default and meaning. README's configuration table mirrors this.
 * A config file (ZCLOUD_CONFIG_FILE, JSON) may set the same keys; env wins over the file.
 */
export const configKeys = {
  PORT: { schema: port, default: '8080', doc: 'HTTP port to listen on (0 picks a free one)' },
  ZCLOUD_LISTEN_HOST: { schema: z.string().min(1), default: '0.0.0.0', doc: 'address to listen on' },
  ZCLOUD_DATA_DIR: { schema: z.string().min(1), default: './data', doc: 'directory of the data file and signing key' },
  ZCLOUD_JWT_SECRET: {
    schema: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length >= 32, 'must be base64 of at least 32 bytes')
      .optional(),
    default: undefined,
    doc: 'JWT signing key (base64, >= 32 bytes); default: generated on first start and kept in the data dir',
  },
  ZCLOUD_TOKEN_TTL: { schema: duration, default: '24h', doc: 'lifetime of tokens issued by the zcloud.cn login action' },
  ZCLOUD_OSP_TOKEN_TTL: { schema: duration, default: '30m', doc: 'lifetime of tokens issued by POST /osp/api/login' },
  ZCLOUD_LOG_LEVEL: {
    schema: z.enum(['error', 'warn', 'info', 'debug']),
    default: 'info',
    doc: 'log level (JSON lines on stdout)',
  },
  ZCLOUD_AUDIT_MAX_ENTRIES: {
    schema: z.coerce.number().int().min(1).max(1_000_000),
    default: '5000',
    doc: 'audit trail size; the oldest entries are dropped beyond it',
  },
  ZCLOUD_HEALTH_INTERVAL: { schema: duration, default: '10s', doc: 'how often each cluster apiserver is probed' },
  ZCLOUD_WATCH_TIMEOUT: {
    schema: duration,
    default: '5m',
    doc: 'shortest server-side timeout of an informer watch; each watch picks one in [t, 2t)',
  },
  ZCLOUD_SECRETS_KEY: {
    schema: z
      .string()
      .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of exactly 32 bytes')
      .optional(),
    default: undefined,
    doc: 'key sealing secrets in the data file (kubeconfigs, SSH keys, PKI keys; base64, 32 bytes); default: generated on first start and kept in the data dir as data-secrets.key',
  },
  ZCLOUD_METRICS_TOKEN: {
    schema: z.string().min(16, 'must be at least 16 characters').optional(),
    default: undefined,
    doc: 'bearer token Prometheus sends to read /metrics; unset: on the API port an admin token is needed, on ZCLOUD_METRICS_PORT none',
  },
  ZCLOUD_METRICS_PORT: {
    schema: port.optional(),
    default: undefined,
    doc: 'serve /metrics on this port (same listen host) instead of the API port',
  },
  ZCLOUD_TRUSTED_PROXIES: {
    schema: trustedProxies,
    default: '',
    doc: 'proxies whose X-Forwarded-For/-Proto/-Host are believed (addresses, CIDRs, loopback, linklocal, uniquelocal); empty: none',
  },
  ZCLOUD_UI_DIR: {
    schema: optionalDirectory,
    default: '',
    doc: 'directory of a built web console served at / (index.html fallback); empty: none',
  },
  ZCLOUD_LOGIN_MAX_FAILURES: {
    schema: z.coerce.number().int().min(1).max(10_000),
    default: '10',
    doc: 'failed logins from one source address within ZCLOUD_LOGIN_FAILURE_WINDOW before it is refused with 429 (a user name gets 5 times as many)',
  },
  ZCLOUD_LOGIN_FAILURE_WINDOW: { schema: duration, default: '15m', doc: 'how long a failed login counts against its address and user' },
  ZCLOUD_PUBLIC_URL: {
    schema: z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).optional(),
    default: undefined,
    doc: 'the URL browsers reach zcloud at; a browser websocket must come from its origin (unset: the request\'s own scheme and Host)',
  },
  ZCLOUD_WATCH_HISTORY: {
    schema: z.coerce.number().int().min(1).max(1_000_000),
    default: '1000',
    doc: 'changes kept per cluster and kind for resumable watches; an older cursor gets an `expired` frame',
  },
  ZCLOUD_STREAM_MAX_BUFFER: {
    schema: z.coerce.number().int().min(1024).max(1 << 30),
    default: '1048576',
    doc: 'bytes a websocket may have unsent before its client is dropped as too slow (close code 4008)',
  },
  ZCLOUD_SHELL_IDLE_LIMIT: {
    schema: duration,
    default: '30m',
    doc: 'a pod or cluster shell that carries no input or output this long is closed (code 4012); a cluster shell\'s pod is deleted with it',
  },
  ZCLOUD_KUBECTL_IMAGE: {
    schema: z.string().min(1),
    default: 'bitnami/kubectl:1.20',
    doc: 'image of the pod a cluster shell runs kubectl in',
  },
  ZCLOUD_LIST_FRAGMENT_CACHE: {
    schema: z.coerce.number().int().min(0).max(1 << 30),
    default: '33554432',
    doc: 'characters (≈ bytes) of serialised list items kept for reuse (by object uid and resourceVersion); 0: none',
  },
  ZCLOUD_CHART_DIR: {
    schema: optionalDirectory,
    default: '',
    doc: 'directory of user charts (<name>/<version>/ with Chart.yaml and zcloud-form.json) offered beside the built-in ones; empty: none',
  },
  ZCLOUD_HELM_CACHE_DIR: {
    schema: z.string(),
    default: '',
    doc: 'where the helm binary is extracted on first use; empty: ~/.cache/zcloud',
  },
  ZCLOUD_HELM_TIMEOUT: { schema: duration, default: '5m', doc: 'longest time one helm call (install, uninstall...) may take before it is killed' },
  ZCLOUD_PROVISIONING_PARALLEL_RUNS: {
    schema: z.coerce.number().int().min(1).max(64),
    default: '2',
    doc: 'provisioning runs (create, re-run) in progress at once, across clusters; more wait in the queue',
  },
  ZCLOUD_ETCD_SNAPSHOT_SCHEDULE: {
    schema: cronExpression,
    default: '0 */12 * * *',
    doc: 'when each etcd host of a provisioned cluster saves a snapshot under /opt/zcloud/etcd-snapshots (cron, local time)',
  },
  ZCLOUD_ETCD_SNAPSHOT_RETENTION: {
    schema: z.coerce.number().int().min(1).max(1000),
    default: '6',
    doc: 'snapshots kept per etcd host; older ones are removed after each new one',
  },
  ZCLOUD_CERT_CHECK_SCHEDULE: {
    schema: cronExpression,
    default: '30 3 * * *',
    doc: 'when the certificates of provisioned clusters are checked; those expiring within 30 days are re-issued and the cluster re-run (cron, local time)',
  },
  ZCLOUD_HOME_CLUSTER: {
    schema: z.enum(['auto', 'off']),
    default: 'auto',
    doc: 'auto: when zcloud runs in a pod (KUBERNETES_SERVICE_HOST/_PORT set, service-account files present) it registers that cluster; off: never',
  },
  ZCLOUD_HOME_CLUSTER_NAME: {
    schema: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-"'),
    default: 'local',
    doc: 'name of the cluster zcloud runs in, as registered in zcloud',
  },
  ZCLOUD_SERVICE_ACCOUNT_DIR: {
    schema: z.string().min(1),
    default: '/var/run/secrets/kubernetes.io/serviceaccount',
    doc: 'directory of the pod\'s service-account token, ca.crt and namespace files (in-cluster mode)',
  },
  ZCLOUD_STORE: {
    schema: z.enum(['file', 'kubernetes']),
    default: 'file',
    doc: 'where zcloud keeps its state: file (lowdb in the data dir, one process) or kubernetes (zcloud.cn custom resources in ZCLOUD_STORE_NAMESPACE, shared by replicas)',
  },
  ZCLOUD_STORE_KUBECONFIG: {
    schema: z.string().optional(),
    default: undefined,
    doc: 'kubeconfig file of the cluster holding the kubernetes store; unset: the cluster zcloud runs in (its service account)',
  },
  ZCLOUD_STORE_NAMESPACE: {
    schema: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'a namespace name').optional(),
    default: undefined,
    doc: 'namespace of the kubernetes store\'s custom resources, keys Secret and leader Lease; unset: the pod\'s namespace, else zcloud',
  },
  ZCLOUD_BLOCK_DEVICE_SCAN_SCHEDULE: {
    schema: cronExpression,
    default: '*/15 * * * *',
    doc: 'when the block devices of every host of provisioned clusters are discovered again over SSH, feeding blockdevices (cron, local time)',
  },
  ZCLOUD_STORAGE_REFRESH_INTERVAL: {
    schema: duration,
    default: '2m',
    doc: "how often a Running storage cluster's figures (sizes, volumes) are read again from its hosts, for changes made outside zcloud; volumes zcloud provisions or releases refresh them at once",
  },
} as const;

type Keys = typeof configKeys;
export type ConfigKey = keyof Keys;

export interface Config {
  port: number;
  listenHost: string;
  dataDir: string;
  jwtSecret?: string;
  secretsKey?: string;
  tokenTtlMs: number;
  ospTokenTtlMs: number;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  auditMaxEntries: number;
  healthIntervalMs: number;
  watchTimeoutMs: number;
  metricsToken?: string;
  metricsPort?: number;
  /** Express `trust proxy` entries; empty trusts no proxy. */
  trustedProxies: string[];
  uiDir?: string;
  loginMaxFailures: number;
  loginFailureWindowMs: number;
  publicUrl?: string;
  watchHistory: number;
  streamMaxBufferBytes: number;
  shellIdleLimitMs: number;
  kubectlImage: string;
  fragmentCacheMaxChars: number;
  chartDir?: string;
  helmCacheDir: string;
  helmTimeoutMs: number;
  provisioningParallelRuns: number;
  etcdSnapshotSchedule: string;
  etcdSnapshotRetention: number;
  certCheckSchedule: string;
  homeCluster: 'auto' | 'off';
  store: 'file' | 'kubernetes';
  storeKubeconfig?: string;
  storeNamespace?: string;
  homeClusterName: string;
  serviceAccountDir: string;
  blockDeviceScanSchedule: string;
  storageRefreshMs: number;
}

const FileSchema = z.record(z.string(), z.union([z.string(), z.number()]));

function readConfigFile(file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError('ZCLOUD_CONFIG_FILE', `cannot read ${file} as JSON (${(err as Error).message})`);
  }
  const result = FileSchema.safeParse(parsed);
  if (!result.success) throw new ConfigError('ZCLOUD_CONFIG_FILE', `${file} must be an object of string or number values`);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(result.data)) {
    if (!(key in configKeys)) throw new ConfigError(key, `unknown key in ${file}`);
    out[key] = String(value);
  }
  return out;
}

function parseKey<K extends ConfigKey>(key: K, raw: string | undefined): z.output<Keys[K]['schema']> {
  const def = configKeys[key];
  const value = raw ?? def.default;
  const result = (def.schema as z.ZodType).safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ConfigError(key, `${JSON.stringify(value)} is not valid: ${issue?.message ?? 'invalid value'}`);
  }
  return result.data as z.output<Keys[K]['schema']>;
}

/** Reads configuration from env (and ZCLOUD_CONFIG_FILE). Throws ConfigError naming the key. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const fromFile = env.ZCLOUD_CONFIG_FILE ? readConfigFile(env.ZCLOUD_CONFIG_FILE) : {};
  const raw = (key: ConfigKey): string | undefined => {
    const value = env[key];
    return value !== undefined && value !== '' ? value : fromFile[key];
  };
  return {
    port: parseKey('PORT', raw('PORT')),
    listenHost: parseKey('ZCLOUD_LISTEN_HOST', raw('ZCLOUD_LISTEN_HOST')),
    dataDir: path.resolve(parseKey('ZCLOUD_DATA_DIR', raw('ZCLOUD_DATA_DIR'))),
    jwtSecret: parseKey('ZCLOUD_JWT_SECRET', raw('ZCLOUD_JWT_SECRET')),
    secretsKey: parseKey('ZCLOUD_SECRETS_KEY', raw('ZCLOUD_SECRETS_KEY')),
    tokenTtlMs: parseKey('ZCLOUD_TOKEN_TTL', raw('ZCLOUD_TOKEN_TTL')),
    ospTokenTtlMs: parseKey('ZCLOUD_OSP_TOKEN_TTL', raw('ZCLOUD_OSP_TOKEN_TTL')),
    logLevel: parseKey('ZCLOUD_LOG_LEVEL', raw('ZCLOUD_LOG_LEVEL')),
    auditMaxEntries: parseKey('ZCLOUD_AUDIT_MAX_ENTRIES', raw('ZCLOUD_AUDIT_MAX_ENTRIES')),
    healthIntervalMs: parseKey('ZCLOUD_HEALTH_INTERVAL', raw('ZCLOUD_HEALTH_INTERVAL')),
    watchTimeoutMs: parseKey('ZCLOUD_WATCH_TIMEOUT', raw('ZCLOUD_WATCH_TIMEOUT')),
    metricsToken: parseKey('ZCLOUD_METRICS_TOKEN', raw('ZCLOUD_METRICS_TOKEN')),
    metricsPort: parseKey('ZCLOUD_METRICS_PORT', raw('ZCLOUD_METRICS_PORT')),
    trustedProxies: parseKey('ZCLOUD_TRUSTED_PROXIES', raw('ZCLOUD_TRUSTED_PROXIES')),
    uiDir: parseKey('ZCLOUD_UI_DIR', raw('ZCLOUD_UI_DIR')),
    loginMaxFailures: parseKey('ZCLOUD_LOGIN_MAX_FAILURES', raw('ZCLOUD_LOGIN_MAX_FAILURES')),
    loginFailureWindowMs: parseKey('ZCLOUD_LOGIN_FAILURE_WINDOW', raw('ZCLOUD_LOGIN_FAILURE_WINDOW')),
    publicUrl: parseKey('ZCLOUD_PUBLIC_URL', raw('ZCLOUD_PUBLIC_URL')),
    watchHistory: parseKey('ZCLOUD_WATCH_HISTORY', raw('ZCLOUD_WATCH_HISTORY')),
    streamMaxBufferBytes: parseKey('ZCLOUD_STREAM_MAX_BUFFER', raw('ZCLOUD_STREAM_MAX_BUFFER')),
    shellIdleLimitMs: parseKey('ZCLOUD_SHELL_IDLE_LIMIT', raw('ZCLOUD_SHELL_IDLE_LIMIT')),
    kubectlImage: parseKey('ZCLOUD_KUBECTL_IMAGE', raw('ZCLOUD_KUBECTL_IMAGE')),
    fragmentCacheMaxChars: parseKey('ZCLOUD_LIST_FRAGMENT_CACHE', raw('ZCLOUD_LIST_FRAGMENT_CACHE')),
    chartDir: parseKey('ZCLOUD_CHART_DIR', raw('ZCLOUD_CHART_DIR')),
    helmCacheDir: path.resolve(parseKey('ZCLOUD_HELM_CACHE_DIR', raw('ZCLOUD_HELM_CACHE_DIR')) || path.join(os.homedir(), '.cache', 'zcloud')),
    helmTimeoutMs: parseKey('ZCLOUD_HELM_TIMEOUT', raw('ZCLOUD_HELM_TIMEOUT')),
    provisioningParallelRuns: parseKey('ZCLOUD_PROVISIONING_PARALLEL_RUNS', raw('ZCLOUD_PROVISIONING_PARALLEL_RUNS')),
    etcdSnapshotSchedule: parseKey('ZCLOUD_ETCD_SNAPSHOT_SCHEDULE', raw('ZCLOUD_ETCD_SNAPSHOT_SCHEDULE')),
    etcdSnapshotRetention: parseKey('ZCLOUD_ETCD_SNAPSHOT_RETENTION', raw('ZCLOUD_ETCD_SNAPSHOT_RETENTION')),
    certCheckSchedule: parseKey('ZCLOUD_CERT_CHECK_SCHEDULE', raw('ZCLOUD_CERT_CHECK_SCHEDULE')),
    homeCluster: parseKey('ZCLOUD_HOME_CLUSTER', raw('ZCLOUD_HOME_CLUSTER')),
    store: parseKey('ZCLOUD_STORE', raw('ZCLOUD_STORE')),
    storeKubeconfig: parseKey('ZCLOUD_STORE_KUBECONFIG', raw('ZCLOUD_STORE_KUBECONFIG')),
    storeNamespace: parseKey('ZCLOUD_STORE_NAMESPACE', raw('ZCLOUD_STORE_NAMESPACE')),
    homeClusterName: parseKey('ZCLOUD_HOME_CLUSTER_NAME', raw('ZCLOUD_HOME_CLUSTER_NAME')),
    serviceAccountDir: path.resolve(parseKey('ZCLOUD_SERVICE_ACCOUNT_DIR', raw('ZCLOUD_SERVICE_ACCOUNT_DIR'))),
    blockDeviceScanSchedule: parseKey('ZCLOUD_BLOCK_DEVICE_SCAN_SCHEDULE', raw('ZCLOUD_BLOCK_DEVICE_SCAN_SCHEDULE')),
    storageRefreshMs: parseKey('ZCLOUD_STORAGE_REFRESH_INTERVAL', raw('ZCLOUD_STORAGE_REFRESH_INTERVAL')),
  };
}
