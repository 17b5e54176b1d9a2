import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import tar from 'tar-stream';
import { withDeadline } from './deadline.js';
import { hostCleanupCommand, type HostPathCleanup } from './host-cleanup.js';

/**
 * The containers and files zcloud puts on a provisioned host. Every container carries the label
 * `zcloud.cn/cluster=<name>` (DELETE removes exactly those) and a hash of its spec: a re-run
 * leaves an identical container alone, recreates one whose spec differs, and never touches a
 * container it did not make.
 */

export const CLUSTER_LABEL = 'zcloud.cn/cluster';
const SPEC_HASH_LABEL = 'zcloud.cn/spec-hash';

/** What zcloud runs, ZKE-style: host network, host paths, the image table's images. */
export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  binds: string[];
  privileged?: boolean;
  pidHost?: boolean;
  /**
   * Hash of the host files its command names, directly or through a bind (certificates,
   * kubeconfigs, the proxy's config): part of the spec hash, so a renewed certificate or a
   * changed config recreates the containers that read it (they load it at start).
   */
  filesHash?: string;
  /** `NAME=value` lines. */
  env?: string[];
}

export type ContainerOutcome = 'created' | 'recreated' | 'started' | 'unchanged';

export interface DockerCallOptions {
  cluster: string;
  host: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export function containerSpecHash(spec: ContainerSpec): string {
  const canonical = { ...spec, binds: [...spec.binds], privileged: spec.privileged ?? false, pidHost: spec.pidHost ?? false };
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex').slice(0, 32);
}

/** `spec` with the hash of the `files` its command names (see ContainerSpec.filesHash). */
export function withFilesHash(spec: ContainerSpec, files: readonly HostFile[]): ContainerSpec {
  // An argument naming a path inside a bind names the host path it is bound from.
  const binds = spec.binds.map((bind) => bind.split(':') as [string, string]);
  const named = spec.command.flatMap((arg) => [arg, ...binds.filter(([, target]) => arg.includes(`${target}/`)).map(([source, target]) => arg.replace(`${target}/`, `${source}/`))]);
  const used = files.filter((file) => named.some((arg) => arg.includes(file.path)));
  const hash = createHash('sha256');
  for (const file of used) hash.update(`${file.path}\0${file.content}\0`);
  return { ...spec, filesHash: hash.digest('hex').slice(0, 32) };
}

/** Makes the host run `spec` as its container `spec.name`, changing only what differs. */
export async function ensureContainer(docker: Docker, spec: ContainerSpec, options: DockerCallOptions): Promise<ContainerOutcome> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  const hash = containerSpecHash(spec);
  const found = await call('list containers', docker.listContainers({ all: true, filters: { name: [`^/${spec.name}$`] } }));
  const existing = found[0];
  if (existing) {
    const owner = existing.Labels[CLUSTER_LABEL];
    if (owner !== options.cluster) {
      throw new Error(`${options.host}: a container named ${spec.name} exists that zcloud did not make for cluster ${options.cluster}; remove or rename it`);
    }
    if (existing.Labels[SPEC_HASH_LABEL] === hash) {
      if (existing.State === 'running') return 'unchanged';
      await call(`start ${spec.name}`, docker.getContainer(existing.Id).start());
      return 'started';
    }
    await call(`remove ${spec.name}`, docker.getContainer(existing.Id).remove({ force: true }));
  }
  const container = await call(
    `create ${spec.name}`,
    docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.command,
      ...(spec.env ? { Env: spec.env } : {}),
      Labels: { [CLUSTER_LABEL]: options.cluster, [SPEC_HASH_LABEL]: hash },
      HostConfig: {
        NetworkMode: 'host',
        Binds: spec.binds,
        Privileged: spec.privileged ?? false,
        ...(spec.pidHost ? { PidMode: 'host' } : {}),
        RestartPolicy: { Name: 'always' },
      },
    }),
  );
  await call(`start ${spec.name}`, container.start());
  return existing ? 'recreated' : 'created';
}

/** Names of the cluster's containers on the host (running or not). */
export async function clusterContainers(docker: Docker, options: DockerCallOptions): Promise<string[]> {
  const found = await withDeadline(`list containers on ${options.host}`, docker.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=${options.cluster}`] } }), options.timeoutMs, options.signal);
  return found.map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')).sort();
}

export interface HostFile {
  /** Absolute path on the host. */
  path: string;
  content: string;
  mode: number;
}

/**
 * Writes files onto the host through Docker's archive API: a short-lived container of the base
 * image binds `hostDir`, and the files are put into it as a tar. Nothing secret passes through
 * a command line or an environment variable.
 */
export async function writeHostFiles(docker: Docker, baseImage: string, hostDir: string, files: readonly HostFile[], options: DockerCallOptions): Promise<void> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  const pack = tar.pack();
  for (const file of files) {
    if (!file.path.startsWith(`${hostDir}/`)) throw new Error(`${file.path} is outside ${hostDir}`);
    pack.entry({ name: file.path.slice(1), mode: file.mode, mtime: new Date(0) }, file.content);
  }
  pack.finalize();
  // tar-stream's pack is a streamx stream, which Docker's client does not take: hand it bytes (a few KB of PEM).
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
  const archive = Buffer.concat(chunks);
  const name = `zcloud-files-${options.cluster}`;
  const stale = await call('list containers', docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } }));
  for (const c of stale) await call(`remove ${name}`, docker.getContainer(c.Id).remove({ force: true }));
  const helper = await call(
    `create ${name}`,
    docker.createContainer({ name, Image: baseImage, Cmd: ['true'], Labels: { [CLUSTER_LABEL]: options.cluster }, HostConfig: { Binds: [`${hostDir}:${hostDir}`] } }),
  );
  try {
    await call(`write files under ${hostDir}`, helper.putArchive(archive, { path: '/' }));
  } finally {
    await call(`remove ${name}`, helper.remove({ force: true }));
  }
}

/**
 * Runs `command` once in a throwaway container of `image` (host network) and returns its
 * output: how zcloud looks at a host as its containers see it. Labelled like every container of
 * the cluster, and removed whatever happens. `access` widens what it sees (the host's processes,
 * privileged to read their fds) for probes that need it.
 */
export async function runOnce(
  docker: Docker,
  image: string,
  command: string[],
  options: DockerCallOptions,
  access: { binds?: string[]; privileged?: boolean; pidHost?: boolean; name?: string } = {},
): Promise<string> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  // One probe per cluster and host at a time by default; callers that may overlap it pass their own name.
  const name = access.name ?? `zcloud-probe-${options.cluster}`;
  const stale = await call('list containers', docker.listContainers({ all: true, filters: { name: [`^/${name}$`] } }));
  for (const c of stale) await call(`remove ${name}`, docker.getContainer(c.Id).remove({ force: true }));
  // A TTY gives the output as plain bytes rather than Docker's multiplexed frames.
  const probe = await call(`create ${name}`, docker.createContainer({ name, Image: image, Cmd: command, Tty: true, Labels: { [CLUSTER_LABEL]: options.cluster }, HostConfig: { NetworkMode: 'host', Binds: access.binds ?? [], Privileged: access.privileged ?? false, ...(access.pidHost ? { PidMode: 'host' } : {}) } }));
  try {
    await call(`start ${name}`, probe.start());
    const exit = (await call(`wait for ${name}`, probe.wait())) as { StatusCode: number };
    const logs: unknown = await call(`logs of ${name}`, probe.logs({ stdout: true, stderr: true }));
    // docker-modem parses an answer that happens to be JSON (say `etcdctl --write-out=json`): give it back as text.
    const output = Buffer.isBuffer(logs) ? logs.toString('utf8') : typeof logs === 'string' ? logs : JSON.stringify(logs);
    if (exit.StatusCode !== 0) throw new Error(`${options.host}: ${command.join(' ')} exited with ${exit.StatusCode}: ${output.trim()}`);
    return output;
  } finally {
    await call(`remove ${name}`, probe.remove({ force: true }));
  }
}

/**
 * Runs `command` inside the running container `name` (docker exec) and returns its output; a
 * non-zero exit fails naming the host and the command.
 */
export async function execIn(docker: Docker, name: string, command: string[], options: DockerCallOptions): Promise<string> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  const exec = await call(`exec in ${name}`, docker.getContainer(name).exec({ Cmd: command, AttachStdout: true, AttachStderr: true, Tty: true }));
  const stream = await call(`exec in ${name}`, exec.start({ hijack: true, stdin: false, Tty: true }));
  const chunks: Buffer[] = [];
  await call(
    `output of ${command[0]} in ${name}`,
    new Promise<void>((resolve, reject) => {
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', resolve);
      stream.on('error', reject);
    }),
  );
  const output = Buffer.concat(chunks).toString('utf8');
  const { ExitCode } = await call(`inspect exec in ${name}`, exec.inspect());
  if (ExitCode !== 0) throw new Error(`${options.host}: ${command.slice(0, 2).join(' ')} … in ${name} exited with ${ExitCode}: ${output.trim()}`);
  return output;
}

/** dockershim's label on every container the kubelet made for a pod (sandbox or app). */
const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';

/**
 * Removes what zcloud put on the host for the cluster: every container labelled with it
 * (running or not), the containers its kubelet made for pods (dockershim's labels: call this only
 * on a host of the cluster), and `paths` as each says (see host-cleanup.ts). Containers with neither label, whoever
 * started them, are never touched. Returns the names of the containers removed.
 */
export async function removeClusterFromHost(docker: Docker, baseImage: string, paths: readonly HostPathCleanup[], options: DockerCallOptions): Promise<string[]> {
  const call = <T>(what: string, work: Promise<T>) => withDeadline(`${what} on ${options.host}`, work, options.timeoutMs, options.signal);
  const labelled = await call('list containers', docker.listContainers({ all: true, filters: { label: [`${CLUSTER_LABEL}=${options.cluster}`] } }));
  // The kubelet goes first, or it would start the pods' containers again.
  const order = (c: Docker.ContainerInfo) => (c.Names[0] === '/kubelet' ? 0 : 1);
  for (const c of [...labelled].sort((a, b) => order(a) - order(b))) await call(`remove ${c.Names[0] ?? c.Id}`, docker.getContainer(c.Id).remove({ force: true }));
  const pods = await call('list pod containers', docker.listContainers({ all: true, filters: { label: [POD_NAMESPACE_LABEL] } }));
  for (const c of pods) await call(`remove ${c.Names[0] ?? c.Id}`, docker.getContainer(c.Id).remove({ force: true }));
  const { binds, script } = hostCleanupCommand(paths);
  await runOnce(docker, baseImage, ['sh', '-c', script], options, { binds, privileged: true });
  return [...labelled, ...pods].map((c) => (c.Names[0] ?? c.Id).replace(/^\//, '')).sort();
}
