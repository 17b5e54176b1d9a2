import { Exec, type KubeConfig, type V1Status } from '@kubernetes/client-node';
import { PassThrough, Writable } from 'node:stream';
import type { ContainerRef } from './container-log.js';

/** A terminal's size in character cells. */
export interface TerminalSize {
  cols: number;
  rows: number;
}

/** An interactive command running in a container, with a tty. */
export interface TerminalSession {
  /** Sends keystrokes (raw bytes) to the command. */
  write(data: Buffer): void;
  resize(size: TerminalSize): void;
  /** Ends the session (the command gets a hangup). */
  close(): void;
  /** Resolves when the session ends: with the command's status, or undefined when the connection ended without one. */
  readonly ended: Promise<V1Status | undefined>;
}

/**
 * The output side of the exec stream, as client-node wants it: a Writable that is also a
 * terminal (`columns`, `rows`, 'resize' events), which it turns into resize messages.
 */
class TerminalOutput extends Writable {
  constructor(
    public columns: number,
    public rows: number,
    private readonly onOutput: (data: Buffer) => void,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.onOutput(chunk);
    callback();
  }
}

/**
 * Runs `command` in `ref` with a tty through the apiserver's `pods/exec` (client-node's
 * websocket client, `v4.channel.k8s.io`), handing everything the command prints to `onOutput`.
 * Rejects when the apiserver refuses (pod or container unknown, forbidden).
 */
export async function openTerminal(kc: KubeConfig, ref: ContainerRef, command: string[], size: TerminalSize, onOutput: (data: Buffer) => void): Promise<TerminalSession> {
  const input = new PassThrough();
  const output = new TerminalOutput(size.cols, size.rows, onOutput);
  let status: V1Status | undefined;
  const ws = await new Exec(kc).exec(ref.namespace, ref.pod, ref.container, command, output, null, input, true, (s) => (status = s));
  const ended = new Promise<V1Status | undefined>((resolve) => {
    if (ws.readyState === ws.CLOSED) resolve(status);
    ws.on('close', () => resolve(status));
  });
  return {
    write: (data) => void input.write(data),
    resize({ cols, rows }) {
      output.columns = cols;
      output.rows = rows;
      output.emit('resize');
    },
    close: () => ws.close(),
    ended,
  };
}
