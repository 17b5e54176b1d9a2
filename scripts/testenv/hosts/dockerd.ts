import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import type { HostLayout, HostSetLayout } from './layout.js';

/** The Docker socket's path inside every host, as `hosts.json` publishes it. */
export const hostDockerSocket = '/var/run/docker.sock';

/** Name of the OCI runtime wrapper every host's dockerd uses by default (see `writeRuntimeWrapper`). */
const runtimeName = 'zcloud-runc';

/** The cgroup (in every v1 hierarchy) under which a host's containers live; removed by `destroy`. */
export function hostCgroupParent(node: string): string {
  return `zcloud-${node}`;
}

/**
 * Writes the set's OCI runtime: runc, after clamping a negative `oomScoreAdj` in the bundle's
 * config.json to 0. Lowering oom_score_adj below 0 needs CAP_SYS_RESOURCE, which this sandbox
 * does not grant; runc then fails the whole container ("can't get final child's PID"). The
 * kubelet gives pause and Guaranteed pods -998, so without this no pod could start. Elsewhere
 * the clamp only costs the OOM killer's preference order. Returns the wrapper's path.
 */
export function writeRuntimeWrapper(layout: HostSetLayout): string {
  const dir = join(layout.dir, 'bin');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, runtimeName);
  const script = `#!/bin/sh
# zcloud testenv: runc with negative oomScoreAdj clamped to 0 (no CAP_SYS_RESOURCE here).
bundle=""
previous=""
for argument in "$@"; do
  case "$previous" in --bundle|-b) bundle="$argument" ;; esac
  case "$argument" in --bundle=*) bundle="\${argument#--bundle=}" ;; esac
  previous="$argument"
done
config="$bundle/config.json"
if [ -n "$bundle" ] && [ -f "$config" ]; then
  if jq -e '(.process.oomScoreAdj // 0) < 0' "$config" >/dev/null 2>&1; then
    jq '.process.oomScoreAdj = 0' "$config" > "$config.zcloud-tmp" && mv "$config.zcloud-tmp" "$config"
  fi
fi
exec /usr/sbin/runc "$@"
`;
  writeFileSync(path, script, { mode: 0o755 });
  return path;
}

/**
 * dockerd's command line for one host, to run inside the host's namespaces. Own data root
 * (under the host directory, which also marks the process as this host's), own exec root and
 * socket in the host's /run; no bridge and no iptables rules: the containers of a provisioned
 * cluster use the host network, as ZKE runs them. cgroupfs, as the kubelet is configured.
 */
export function dockerdArgs(host: HostLayout, node: string, runtimePath: string): string[] {
  writeFileSync(host.dockerConfigPath, '{}\n');
  return [
    '/usr/sbin/dockerd',
    // Never the machine's /etc/docker/daemon.json: every host is configured here and only here.
    `--config-file=${host.dockerConfigPath}`,
    `--data-root=${host.dockerDataRoot}`,
    '--exec-root=/run/docker',
    '--pidfile=/run/docker.pid',
    `--host=unix://${hostDockerSocket}`,
    '--group=docker',
    '--bridge=none',
    '--iptables=false',
    '--ip-masq=false',
    '--ip-forward=false',
    '--userland-proxy=false',
    // Its default, -500, needs CAP_SYS_RESOURCE too.
    '--oom-score-adjust=0',
    `--cgroup-parent=/${hostCgroupParent(node)}`,
    '--exec-opt=native.cgroupdriver=cgroupfs',
    `--add-runtime=${runtimeName}=${runtimePath}`,
    `--default-runtime=${runtimeName}`,
  ];
}

/** Whether the daemon behind `socketPath` answers `GET /_ping` with OK. */
export function dockerPing(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ping = request({ socketPath, path: '/_ping', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    // Not listening yet (ENOENT, ECONNREFUSED) or too slow: "not yet", the caller polls again.
    ping.on('error', () => resolve(false));
    ping.on('timeout', () => ping.destroy());
    ping.end();
  });
}
