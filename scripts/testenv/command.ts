import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** A command that could not be started or exited non-zero. `output` holds its last lines (stdout and stderr mixed). */
export class CommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super(output ? `${message}\n${output}` : message, options);
    this.name = 'CommandError';
  }
}

export interface RunOptions {
  cwd?: string;
  /** Replaces the environment entirely when given; merge with process.env yourself. */
  env?: NodeJS.ProcessEnv;
  /** Receives every output line (stdout and stderr) as it arrives, e.g. to forward progress. */
  onLine?: (line: string) => void;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  /** The last lines of stdout and stderr mixed, for error messages. */
  tail: string;
}

/** Lines kept for error messages: enough to show a compiler error, short enough for a CI log. */
const tailLines = 40;

/**
 * Runs a command to completion with stdin closed (CI has none, and nothing may prompt).
 * Resolves with the exit code whatever it is; rejects only when the command cannot be started.
 */
export function exec(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const tail: string[] = [];
    const keep = (line: string): void => {
      tail.push(line);
      if (tail.length > tailLines) tail.shift();
      options.onLine?.(line);
    };
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    createInterface({ input: child.stdout }).on('line', keep);
    createInterface({ input: child.stderr }).on('line', keep);
    child.once('error', (err) =>
      reject(new CommandError(`cannot run ${command}: ${err.message}`, null, '', { cause: err })),
    );
    child.once('close', (code, signal) =>
      resolve({
        exitCode: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(stdout).toString('utf8'),
        tail: tail.join('\n'),
      }),
    );
  });
}

/** Like `exec`, but a non-zero exit rejects with a CommandError naming the command and its last output lines. */
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await exec(command, args, options);
  if (result.exitCode !== 0) {
    const shown = [command, ...args].join(' ');
    throw new CommandError(`${shown} exited with ${result.exitCode}`, result.exitCode, result.tail);
  }
  return result.stdout;
}
