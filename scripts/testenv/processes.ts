import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export interface DetachedCommand {
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Appended to, with a header line per start, so a restart keeps the earlier runs' output. */
  logPath: string;
}

/**
 * Starts a process that outlives its starter: its own process group, no stdin, stdout and
 * stderr into `logPath`. Returns its pid; nothing is left for the caller to await or close.
 */
export function startDetached(spec: DetachedCommand): number {
  const log = openSync(spec.logPath, 'a');
  try {
    writeSync(log, `\n=== ${new Date().toISOString()} ${spec.command} ${spec.args.join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', log, log],
    });
    if (child.pid === undefined) throw new Error(`cannot start ${spec.command} (see ${spec.logPath})`);
    // A failure to exec shows up as an 'error' event; the caller notices the dead pid instead.
    child.once('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

/**
 * Whether `pid` is alive and is one of ours: its command line must contain `marker` (a path
 * only our processes are given, e.g. the cluster directory). A recorded pid may since have
 * been reused by an unrelated process, which we must never signal.
 */
export function isOurProcess(pid: number, marker: string): boolean {
  let cmdline: string;
  let stat: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw err;
  }
  // Field 3 of stat, after the parenthesised command name, is the state; a zombie has exited.
  const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  return state !== 'Z' && cmdline.split('\0').some((arg) => arg.includes(marker));
}

/** How long a component gets to exit on SIGTERM before SIGKILL; etcd and apiserver need ~1 s. */
const gracefulStopMs = 10_000;
const pollMs = 50;

/**
 * Stops `pid` if it is still ours (see isOurProcess): SIGTERM, then SIGKILL after a grace
 * period. Resolves once it is gone; does nothing when it already is.
 */
export async function stopProcess(pid: number, marker: string, graceMs = gracefulStopMs): Promise<void> {
  if (!isOurProcess(pid, marker)) return;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isOurProcess(pid, marker)) {
    if (Date.now() >= deadline) {
      signal(pid, 'SIGKILL');
      break;
    }
    await sleep(pollMs);
  }
  // SIGKILL cannot be ignored; the wait only covers the kernel tearing the process down.
  const killDeadline = Date.now() + 5_000;
  while (isOurProcess(pid, marker) && Date.now() < killDeadline) await sleep(pollMs);
}

/** Sends a signal, ignoring only "no such process" (it exited between our check and now). */
export function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
