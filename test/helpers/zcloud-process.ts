import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repoRoot = path.resolve(import.meta.dirname, '../..');

export interface ProcessOptions {
  /** Environment on top of the test's (PORT=0 and a loopback listen host are set). */
  env: Record<string, string>;
  /**
   * Run in a fresh PID namespace (`unshare --pid --fork`), where zcloud is pid 1, as under a
   * container's CMD. `--kill-child` makes the namespace die with the unshare process.
   */
  freshPidNamespace?: boolean;
}

/** Whether this machine lets us make PID namespaces (root, or user namespaces allowed). */
export function canUnsharePid(): boolean {
  return spawnSync('unshare', ['--pid', '--fork', 'true'], { stdio: 'ignore' }).status === 0;
}

/** Every process these helpers started and that may still run, by pid. */
const started = new Set<ChildProcess>();

/** SIGKILLs every process these helpers started that has not exited; for `after` hooks. */
export async function killStartedProcesses(): Promise<void> {
  await Promise.all([...started].map((child) => killAndWait(child)));
}

async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

function spawnMain(options: ProcessOptions): ChildProcess {
  const node = [process.execPath, '--import', 'tsx', 'server/main.ts'];
  const [command, ...args] = options.freshPidNamespace ? ['unshare', '--pid', '--fork', '--kill-child', ...node] : node;
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: { ...process.env, PORT: '0', ZCLOUD_LISTEN_HOST: '127.0.0.1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  return child;
}

export interface ExitedZcloud {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `server/main.ts` until it exits (it is killed, and the promise rejects, after `timeoutMs`). */
export function runZcloudToExit(options: ProcessOptions, timeoutMs = 30_000): Promise<ExitedZcloud> {
  const child = spawnMain(options);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zcloud did not exit within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ZcloudProcess {
  url: string;
  /** Pid of the node process running zcloud, as seen from the test (not from its namespace). */
  pid: number;
  stderr(): string;
  /** zcloud's log (JSON lines) so far. */
  stdout(): string;
  /** SIGKILLs zcloud and waits until its process (and namespace) is gone. */
  kill9(): Promise<void>;
  /** SIGTERM, as on a normal stop; waits for the exit. */
  stop(): Promise<void>;
}

/** Starts `server/main.ts` and resolves once it listens; rejects with its stderr when it exits first. */
export async function startZcloudProcess(options: ProcessOptions, timeoutMs = 30_000): Promise<ZcloudProcess> {
  const child = spawnMain(options);
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zcloud did not listen within ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /"message":"zcloud listening"[^\n]*"port":(\d+)|"port":(\d+)[^\n]*"message":"zcloud listening"/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1] ?? match[2]));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`zcloud exited (${code ?? signal}) before listening; stderr: ${stderr}`));
    });
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // Under unshare, zcloud is the unshare process's only child (pid 1 inside the namespace).
  const pid = options.freshPidNamespace ? Number(readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim()) : child.pid!;
  return {
    url: `http://127.0.0.1:${port}`,
    pid,
    stderr: () => stderr,
    stdout: () => stdout,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}
