import WebSocket from 'ws';

export const WS = '/apis/ws.zcloud.cn/v1';

/** A websocket client that keeps every text frame it receives, for tests. */
export interface TestSocket {
  ws: WebSocket;
  frames: string[];
  /** Frames parsed as JSON. */
  json<T = any>(): T[];
  /** Resolves with the frames once `predicate` holds for them (checked on each frame), or rejects after `within` ms. */
  until(predicate: (frames: string[]) => boolean, within?: number): Promise<string[]>;
  /** Resolves with the close code and reason. */
  closed: Promise<{ code: number; reason: string }>;
  close(): Promise<void>;
}

/** The status of a refused upgrade, or 101 when it was accepted (then closed at once). */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', (err) => reject(err));
  });
}

/** Opens `url` (ws://...) and resolves once it is open; rejects with the status of a refused upgrade. */
export async function openSocket(url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
  const ws = new WebSocket(url, { headers });
  const frames: string[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    frames.push(isBinary ? (data as Buffer).toString('utf8') : data.toString());
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  closed.then(() => { for (const waiter of waiters) waiter(); });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const socket: TestSocket = {
    ws,
    frames,
    json: () => frames.map((f) => JSON.parse(f)),
    until(predicate, within = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (predicate(frames)) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(frames);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`not within ${within} ms; frames so far: ${frames.slice(-10).join('\n')}`));
        }, within);
        waiters.add(check);
        check();
      });
    },
    closed,
    async close() {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close();
      await Promise.race([closed, new Promise((r) => setTimeout(r, 2000))]);
      ws.terminate();
    },
  };
  return socket;
}

/** ws://host:port of a zcloud http://host:port URL. */
export function wsBase(httpUrl: string): string {
  return httpUrl.replace(/^http/, 'ws');
}
