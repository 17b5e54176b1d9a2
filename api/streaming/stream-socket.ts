import type { WebSocket } from 'ws';

/** Close codes zcloud's streams end with, beyond the standard ones (1000 normal, 1001 going away). */
export const CLOSE_CODES = {
  /** The client read too slowly: its unsent frames passed the buffer limit. */
  slowReader: 4008,
  /** A resumable watch's cursor is too old (after an `expired` frame): relist and watch again. */
  expired: 4010,
  /** The stream's source ended badly (the cluster went away, the container's log failed). */
  sourceFailed: 4011,
  /** A shell was idle longer than its limit. */
  idle: 4012,
} as const;

export interface StreamSocketOptions {
  /** Told when a client is dropped for reading too slowly. */
  onSlowReader?: () => void;
  /** Bytes not yet written to the network beyond which the client is dropped at the next frame. */
  maxBufferedBytes: number;
  /** How often a ping is sent; a client that has not answered the previous one is dropped. */
  pingIntervalMs: number;
}

/**
 * One client of a stream, over a plain websocket or SockJS. The endpoints only send frames
 * and read messages; the bounds (buffer limit, liveness pings) are kept here, once.
 */
export interface StreamSocket {
  /** Sends a text frame (objects as JSON). A client past the buffer limit is dropped instead. */
  send(frame: string | object): void;
  /** Sends bytes as they are (a shell's output). */
  sendBinary(data: Buffer): void;
  onMessage(handler: (data: Buffer, isBinary: boolean) => void): void;
  /** Runs once when the socket closes, whoever closed it. */
  onClose(handler: () => void): void;
  close(code?: number, reason?: string): void;
  readonly closed: boolean;
}

/** A close frame's reason carries at most 123 bytes: `text` cut to fit, on a character boundary. */
export function closeReason(text: string): string {
  let reason = text;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  return reason;
}

/** How long a dropped client gets to take its close frame before the connection is cut. */
const CLOSE_GRACE_MS = 2000;

/** A StreamSocket over a `ws` websocket. */
export function wsStreamSocket(ws: WebSocket, options: StreamSocketOptions): StreamSocket {
  let closed = false;
  const closeHandlers: Array<() => void> = [];
  let answered = true;
  const ping = setInterval(() => {
    if (!answered) return void ws.terminate();
    answered = false;
    ws.ping();
  }, options.pingIntervalMs);
  ping.unref();
  ws.on('pong', () => (answered = true));
  ws.on('close', () => {
    if (closed) return;
    closed = true;
    clearInterval(ping);
    for (const handler of closeHandlers.splice(0)) handler();
  });
  ws.on('error', () => ws.terminate());

  const close = (code?: number, reason?: string): void => {
    if (ws.readyState === ws.CLOSING || ws.readyState === ws.CLOSED) return;
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  };
  // The bound is on what is still unsent when the next frame comes: a frame larger than the
  // limit still goes to a client that keeps up, and memory stays under limit + one frame.
  const withinBounds = (): boolean => {
    if (ws.readyState !== ws.OPEN) return false;
    if (ws.bufferedAmount <= options.maxBufferedBytes) return true;
    options.onSlowReader?.();
    close(CLOSE_CODES.slowReader, 'the client reads too slowly');
    return false;
  };
  return {
    send(frame) {
      const text = typeof frame === 'string' ? frame : JSON.stringify(frame);
      if (withinBounds()) ws.send(text);
    },
    sendBinary(data) {
      if (withinBounds()) ws.send(data, { binary: true });
    },
    onMessage(handler) {
      ws.on('message', (data, isBinary) => handler(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer), isBinary));
    },
    onClose(handler) {
      if (closed) handler();
      else closeHandlers.push(handler);
    },
    close,
    get closed() {
      return closed;
    },
  };
}
