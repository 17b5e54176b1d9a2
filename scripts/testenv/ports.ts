import { createServer } from 'node:net';

/**
 * Ports are drawn from 20000–32767, below Linux's ephemeral range (32768–60999 by default).
 * A port picked by binding port 0 lies in the ephemeral range, where the kernel may hand it to
 * some outgoing connection as its source port while the cluster is down, and `up` could not
 * get it back. Below that range only a listener can hold it.
 */
const lowest = 20_000;
const highest = 32_767;
/** Random picks before giving up; collisions are rare, so hitting this means something is wrong. */
const attempts = 200;

/** Whether 127.0.0.1:`port` can be listened on right now. */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * Picks `count` distinct ports that are free on 127.0.0.1 now and not in `reserved` (the ports
 * other test clusters have recorded, which may be down at the moment but will want them back).
 */
export async function pickFreePorts(count: number, reserved: ReadonlySet<number>): Promise<number[]> {
  const picked: number[] = [];
  for (let i = 0; picked.length < count; i++) {
    if (i >= attempts) throw new Error(`no ${count} free loopback ports found in ${lowest}-${highest}`);
    const port = lowest + Math.floor(Math.random() * (highest - lowest + 1));
    if (reserved.has(port) || picked.includes(port)) continue;
    if (await isPortFree(port)) picked.push(port);
  }
  return picked;
}
