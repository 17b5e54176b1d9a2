import { z } from 'zod';
import type { Logger } from '../../src/logger.js';
import type { TerminalSession, TerminalSize } from '../../src/kube/pod-exec.js';
import { closeReason, CLOSE_CODES, type StreamSocket } from './stream-socket.js';

/** Input typed before the terminal opened that is kept for it; beyond this, the client is not waiting for a shell. */
const EARLY_INPUT_MAX_BYTES = 64 * 1024;

/** A resize frame: `{cols, rows}` as text. Any other frame is input. */
const ResizeFrame = z.strictObject({ cols: z.number().int().min(1).max(10_000), rows: z.number().int().min(1).max(10_000) });

function resizeOf(data: Buffer, isBinary: boolean): TerminalSize | undefined {
  if (isBinary || data[0] !== 0x7b /* { */) return undefined;
  try {
    const parsed = ResizeFrame.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch (err) {
    if (err instanceof SyntaxError) return undefined; // keystrokes that start with "{"
    throw err;
  }
}

export interface TerminalBridgeOptions {
  /** Opens the terminal, given the client's first size; rejects when it cannot be opened. */
  open(size: TerminalSize, onOutput: (data: Buffer) => void): Promise<TerminalSession>;
  idleLimitMs: number;
  logger: Logger;
  /** Runs once after the terminal and the socket have both ended (e.g. deletes a cluster shell's pod). */
  cleanUp?: () => Promise<void>;
}

/**
 * Joins a client socket to a terminal in a container: the client's first frame is its size
 * (`{cols, rows}`), later such frames resize, every other frame is input; the terminal's output
 * goes out as binary frames. The socket closes with 1000 when the command ends, 4012 when
 * nothing went either way for `idleLimitMs`, 4011 when the terminal could not be opened. The
 * promise returned settles (never rejects) once the socket closed, the terminal ended and
 * `cleanUp` ran.
 */
export function bridgeTerminal(socket: StreamSocket, options: TerminalBridgeOptions): Promise<void> {
  let terminal: TerminalSession | undefined;
  let opening: Promise<void> | undefined;
  /** A resize that came while the terminal was opening. */
  let resizedMeanwhile: TerminalSize | undefined;
  const early: Buffer[] = [];
  const keepEarly = (data: Buffer): void => {
    if (early.reduce((sum, b) => sum + b.length, data.length) > EARLY_INPUT_MAX_BYTES) return socket.close(CLOSE_CODES.slowReader, 'too much input before the shell opened');
    early.push(data);
  };
  let idle: NodeJS.Timeout | undefined;
  const touch = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => socket.close(CLOSE_CODES.idle, `no input or output for ${Math.round(options.idleLimitMs / 1000)} s`), options.idleLimitMs);
    idle.unref();
  };
  touch();
  const start = (size: TerminalSize): void => {
    opening = options
      .open(size, (data) => {
        touch();
        socket.sendBinary(data);
      })
      .then((opened) => {
        terminal = opened;
        if (socket.closed) return opened.close();
        if (resizedMeanwhile) opened.resize(resizedMeanwhile);
        for (const data of early.splice(0)) opened.write(data);
        void opened.ended.then((status) => socket.close(1000, closeReason(status?.status === 'Failure' ? (status.message ?? 'the command failed') : 'the command ended')));
      })
      .catch((err: unknown) => {
        options.logger.warn('terminal could not be opened', { error: (err as Error).message });
        socket.close(CLOSE_CODES.sourceFailed, closeReason((err as Error).message));
      });
  };
  socket.onMessage((data, isBinary) => {
    touch();
    const size = resizeOf(data, isBinary);
    if (!opening) return size ? start(size) : keepEarly(data);
    if (size && terminal) terminal.resize(size);
    else if (size) resizedMeanwhile = size;
    else if (terminal) terminal.write(data);
    else keepEarly(data);
  });
  return new Promise<void>((resolve) =>
    socket.onClose(() => {
      clearTimeout(idle);
      terminal?.close();
      (opening ?? Promise.resolve())
        .then(() => terminal?.ended)
        .then(() => options.cleanUp?.())
        .catch((err: unknown) => options.logger.error('terminal clean-up failed', { error: (err as Error).message }))
        .finally(resolve);
    }),
  );
}
