/**
 * etcd's v3 JSON gateway on a test cluster's loopback client port: lets a test change what the
 * apiserver stores while the apiserver is down, or compact history to force 410 Gone.
 */
const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

async function call<T>(port: number, path: string, body: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}/v3/${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Deletes one key (e.g. `/registry/namespaces/x`); returns how many were deleted. */
export async function etcdDelete(port: number, key: string): Promise<number> {
  const res = await call<{ deleted?: string }>(port, 'kv/deleterange', { key: b64(key) });
  return Number(res.deleted ?? 0);
}

/** Compacts history up to the current revision: older resourceVersions become 410 Gone. */
export async function etcdCompactAll(port: number): Promise<number> {
  const status = await call<{ header: { revision: string } }>(port, 'kv/range', { key: b64('/registry/') , limit: 1 });
  const revision = Number(status.header.revision);
  await call(port, 'kv/compaction', { revision, physical: true });
  return revision;
}
