import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureHelmBinary } from './helm-binary.js';

/** helm answered with an error (exit code ≠ 0, killed, timed out). `message` is helm's stderr. */
export class HelmError extends Error {
  override readonly name = 'HelmError';
  constructor(
    message: string,
    readonly args: readonly string[],
  ) {
    super(message);
  }
}

export interface HelmOptions {
  /** Where the helm binary is extracted (see ensureHelmBinary). */
  cacheDir: string;
  /** Longest time one helm call may take; it is killed after. */
  timeoutMs: number;
}

export interface HelmCall {
  /** The cluster's kubeconfig; written to a 0600 file that lives only as long as the call. */
  kubeconfig?: string;
  signal?: AbortSignal;
  /** Helm values, passed as a 0600 file (never on the command line, where `ps` shows it). */
  values?: Record<string, unknown>;
}

export interface ReleaseStatus {
  /** helm's word: deployed, failed, pending-install, pending-upgrade, uninstalling, ... */
  status: string;
  revision: number;
}

/** One release as `helm list -o json` reports it. */
export interface ListedRelease {
  name: string;
  namespace: string;
  revision: string;
  status: string;
  chart: string;
}

/** Output beyond this is helm misbehaving (a manifest of a big chart is well under 1 MiB). */
const MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs the real helm binary. Every call gets its own temporary HOME and HELM_CACHE_HOME /
 * HELM_CONFIG_HOME / HELM_DATA_HOME (so no repository, plugin or credential of the host or of
 * another call is seen) and its own kubeconfig file, all removed when the call ends. Calls time
 * out after `timeoutMs` and are killed when `signal` aborts. Releases are stored the helm way
 * (Secrets in the release namespace): helm, not zcloud, owns release bookkeeping.
 */
export class Helm {
  constructor(private readonly options: HelmOptions) {}

  /** Runs `helm args...` and returns its stdout. Throws HelmError with helm's stderr. */
  async run(args: readonly string[], call: HelmCall = {}): Promise<string> {
    const binary = await ensureHelmBinary(this.options.cacheDir);
    const scratch = await mkdtemp(path.join(tmpdir(), 'zcloud-helm-'));
    try {
      const home = path.join(scratch, 'home');
      await mkdir(home, { mode: 0o700 });
      const extra: string[] = [];
      const env: NodeJS.ProcessEnv = {
        PATH: '/usr/bin:/bin',
        HOME: home,
        HELM_CACHE_HOME: path.join(home, 'cache'),
        HELM_CONFIG_HOME: path.join(home, 'config'),
        HELM_DATA_HOME: path.join(home, 'data'),
        HELM_DRIVER: 'secret',
      };
      if (call.kubeconfig !== undefined) {
        env.KUBECONFIG = path.join(scratch, 'kubeconfig');
        await writeFile(env.KUBECONFIG, call.kubeconfig, { mode: 0o600 });
      }
      if (call.values !== undefined) {
        const valuesFile = path.join(scratch, 'values.json');
        await writeFile(valuesFile, JSON.stringify(call.values), { mode: 0o600 });
        extra.push('--values', valuesFile);
      }
      const all = [...args, ...extra];
      return await new Promise<string>((resolve, reject) => {
        execFile(
          binary,
          all,
          { env, cwd: scratch, timeout: this.options.timeoutMs, killSignal: 'SIGTERM', maxBuffer: MAX_OUTPUT_BYTES, signal: call.signal, encoding: 'utf8' },
          (err, stdout, stderr) => {
            if (!err) return resolve(stdout);
            // helm 4 logs warnings as `level=WARN ...` lines before its `Error: ...`; the error is the reason.
            const why = stderr.split('\n').filter((line) => line.trim() && !line.startsWith('level=')).join('\n').trim() || stderr.trim() || err.message;
            const killed = (err as { killed?: boolean }).killed || err.name === 'AbortError';
            reject(new HelmError(killed ? `helm ${args[0]} was stopped (timeout ${this.options.timeoutMs} ms or cancelled): ${why}` : why, args));
          },
        );
      });
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  /** `helm upgrade --install`: installs the release, or upgrades it to this chart and values. */
  async upgradeInstall(release: string, namespace: string, chartDir: string, call: HelmCall): Promise<void> {
    await this.run(['upgrade', '--install', release, chartDir, '--namespace', namespace, '--timeout', this.helmTimeout(), '--output', 'json'], call);
  }

  /** Uninstalls the release; resolves 'absent' when helm knows no such release. */
  async uninstall(release: string, namespace: string, call: HelmCall): Promise<'uninstalled' | 'absent'> {
    try {
      await this.run(['uninstall', release, '--namespace', namespace, '--timeout', this.helmTimeout()], call);
      return 'uninstalled';
    } catch (err) {
      if (err instanceof HelmError && /not found/i.test(err.message)) return 'absent';
      throw err;
    }
  }

  /** The release's last revision and status; undefined when there is none. */
  async status(release: string, namespace: string, call: HelmCall): Promise<ReleaseStatus | undefined> {
    try {
      const out = JSON.parse(await this.run(['status', release, '--namespace', namespace, '--output', 'json'], call)) as {
        version?: number;
        info?: { status?: string };
      };
      return { status: out.info?.status ?? 'unknown', revision: out.version ?? 0 };
    } catch (err) {
      if (err instanceof HelmError && /not found/i.test(err.message)) return undefined;
      throw err;
    }
  }

  /** Rolls a release stuck in pending-upgrade/rollback back to its last good revision. */
  async rollback(release: string, namespace: string, call: HelmCall): Promise<void> {
    await this.run(['rollback', release, '--namespace', namespace, '--timeout', this.helmTimeout()], call);
  }

  /** The rendered manifest of the release's current revision (YAML documents). */
  manifest(release: string, namespace: string, call: HelmCall): Promise<string> {
    return this.run(['get', 'manifest', release, '--namespace', namespace], call);
  }

  /** Every release helm knows in `namespace` (all states, not only deployed). */
  async list(namespace: string, call: HelmCall): Promise<ListedRelease[]> {
    return JSON.parse(await this.run(['list', '--deployed', '--failed', '--pending', '--superseded', '--uninstalling', '--namespace', namespace, '--output', 'json'], call)) as ListedRelease[];
  }

  /** `helm lint` of a chart directory; throws HelmError with the findings. */
  async lint(chartDir: string, values?: Record<string, unknown>): Promise<string> {
    return this.run(['lint', '--strict', chartDir], { values });
  }

  /** helm's own deadline for waiting on the apiserver, a little under ours. */
  private helmTimeout(): string {
    return `${Math.max(1, Math.floor((this.options.timeoutMs * 0.9) / 1000))}s`;
  }
}
