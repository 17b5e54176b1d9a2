import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Container, Pod } from './kube-types.js';

/** The test world installs busybox-static: one binary that is the whole userland of a sandbox. */
const busybox = '/bin/busybox';
/** How long a resize waits for the shell's terminal to exist (the process starts within milliseconds). */
const terminalWaitMs = 2_000;

export interface ShellRequest {
  pod: Pod;
  container: Container;
  command: string[];
  tty: boolean;
}

/** A process running "in" a simulated container. */
export interface SandboxProcess {
  child: ChildProcess;
  /** Sets the terminal size of a tty process (no-op without a tty). */
  resize(cols: number, rows: number): Promise<void>;
}

/**
 * Where the simulated containers' commands run: each container gets a root directory of its
 * own holding busybox and its applets; a command runs chrooted there in private mount and pid
 * namespaces (its own /proc, it sees only its own processes) with the container's environment.
 * With a tty, util-linux `script` gives it a pseudo-terminal. Needs root, as the test world has.
 * When the pod goes (`remove`), its commands are stopped and its roots deleted, as a kubelet
 * ends the execs of a stopped container.
 */
export class Sandboxes {
  #applets: string[] | undefined;
  /** The commands running in each pod's containers, by pod key. */
  readonly #running = new Map<string, Set<ChildProcess>>();

  constructor(private readonly dir: string) {}

  /** Starts `request.command` in its container's sandbox. */
  start(request: ShellRequest): SandboxProcess {
    const started = this.#spawn(request);
    const key = podKey(request.pod);
    const running = this.#running.get(key) ?? new Set();
    this.#running.set(key, running.add(started.child));
    started.child.on('close', () => {
      running.delete(started.child);
      if (running.size === 0 && this.#running.get(key) === running) this.#running.delete(key);
    });
    return started;
  }

  /** Stops what runs in `pod`'s containers and deletes their roots. */
  remove(pod: Pod): void {
    const key = podKey(pod);
    for (const child of this.#running.get(key) ?? []) stop(child);
    this.#running.delete(key);
    if (!existsSync(this.dir)) return;
    for (const entry of readdirSync(this.dir)) if (entry.startsWith(`${key}-`)) rmSync(join(this.dir, entry), { recursive: true, force: true });
  }

  #spawn(request: ShellRequest): SandboxProcess {
    const root = this.#rootOf(request.pod, request.container.name);
    const inside = [
      '/usr/bin/unshare', '--mount', '--pid', '--fork', '--kill-child', '--mount-proc=/proc', `--root=${root}`, '--wd=/',
      ...request.command,
    ];
    const env: Record<string, string> = {
      PATH: '/bin',
      HOSTNAME: request.pod.metadata.name,
      HOME: '/root',
      ...(request.tty ? { TERM: 'xterm' } : {}),
      ...Object.fromEntries((request.container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
    };
    if (!request.tty) {
      return { child: spawn(inside[0]!, inside.slice(1), { env, stdio: 'pipe' }), resize: async () => undefined };
    }
    // `script` runs its command through $SHELL (the host's) on a new pty; -e passes the exit code on.
    const child = spawn('/usr/bin/script', ['-qfec', inside.map(shellQuote).join(' '), '/dev/null'], { env: { ...env, SHELL: '/bin/sh' }, stdio: 'pipe' });
    return { child, resize: (cols, rows) => resizeTerminal(child, cols, rows) };
  }

  /** The container's root, made on first use: bin/ with busybox and a link per applet, proc/, tmp/, root/. */
  #rootOf(pod: Pod, container: string): string {
    const root = join(this.dir, `${podKey(pod)}-${container}`);
    if (existsSync(join(root, 'bin', 'busybox'))) return root;
    // Built aside and renamed, so two execs racing never see half a root.
    const building = `${root}.${process.pid}.${Date.now()}`;
    for (const sub of ['bin', 'proc', 'tmp', 'root', 'dev']) mkdirSync(join(building, sub), { recursive: true });
    copyFileSync(busybox, join(building, 'bin', 'busybox'));
    for (const applet of this.#appletNames()) if (applet !== 'busybox') symlinkSync('busybox', join(building, 'bin', applet));
    try {
      renameSync(building, root);
    } catch (err) {
      rmSync(building, { recursive: true, force: true });
      if (!existsSync(join(root, 'bin', 'busybox'))) throw err;
    }
    return root;
  }

  #appletNames(): string[] {
    this.#applets ??= execFileSync(busybox, ['--list'], { encoding: 'utf8' }).split('\n').filter((name) => /^[\w.[-]+$/.test(name));
    return this.#applets;
  }
}

/**
 * Ends a sandboxed command: SIGKILL, because `unshare --fork` ignores SIGTERM (it leaves signals
 * to its child, a pid 1 that ignores them too); its death kills the child (--kill-child). Under
 * `script`, the pty's hangup ends `unshare` the same way.
 */
export function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** Names a pod's roots; the uid, so a new pod of the same name starts afresh. */
function podKey(pod: Pod): string {
  return pod.metadata.uid ?? `${pod.metadata.namespace}-${pod.metadata.name}`;
}

function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * Sets the window size of `script`'s pty from outside: its child's stdin is the pty's slave
 * side, and TIOCSWINSZ there (stty -F) reaches the shell as SIGWINCH, as a terminal resize does.
 */
async function resizeTerminal(script: ChildProcess, cols: number, rows: number): Promise<void> {
  const deadline = Date.now() + terminalWaitMs;
  while (script.exitCode === null && script.signalCode === null) {
    const terminal = slaveTerminal(script.pid!);
    if (terminal) {
      execFileSync('stty', ['-F', terminal, 'cols', String(cols), 'rows', String(rows)]);
      return;
    }
    if (Date.now() > deadline) throw new Error(`resize: the shell's terminal did not appear within ${terminalWaitMs} ms`);
    await sleep(50);
  }
}

function slaveTerminal(pid: number): string | undefined {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    if (children.length === 0) return undefined;
    const terminal = readlinkSync(`/proc/${children[0]}/fd/0`);
    return terminal.startsWith('/dev/pts/') ? terminal : undefined;
  } catch (err) {
    // The child is starting or gone: ask again (or stop, once `script` has exited).
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
