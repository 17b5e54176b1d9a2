import { join } from 'node:path';
import { connectHost, type HostConnection } from '../../src/provisioning/host-connection.js';
import type { HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { hostSetLayout } from '../../scripts/testenv/hosts/layout.js';

export type TestHost = HostSetInfo['hosts']['nodes'][number];

/** Runs `work` with an SSH + Docker connection to `host` of `set`, as an operator would look at it; closed afterwards. */
export async function onHost<T>(set: HostSetInfo, host: TestHost, work: (connection: HostConnection) => Promise<T>): Promise<T> {
  const connection = await connectHost({ name: host.name, address: host.address, port: host.sshPort, user: set.hosts.sshUser, privateKey: set.hosts.sshKey }, { dockerSocket: '/var/run/docker.sock', timeoutMs: 10_000 });
  try {
    return await work(connection);
  } finally {
    await connection.close();
  }
}

/** A host's own copy of `dir` (one of the per-host directories), as seen from this machine. */
export function hostDir(setName: string, host: TestHost, dir: string): string {
  return join(hostSetLayout(setName).host(host.name).dir, 'fs', dir.slice(1).replaceAll('/', '-'));
}
