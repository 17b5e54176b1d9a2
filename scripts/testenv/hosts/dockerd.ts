import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { checkoutTag } from '../paths.js';
import type { HostLayout, HostSetLayout } from './layout.js';

/** The Docker socket's path inside every host, as `hosts.json` publishes it. */
export const hostDockerSocket = '/var/run/docker.sock';

/** Name of the OCI runtime wrapper every host's dockerd uses by default (see `writeRuntimeWrapper`). */
const runtimeName = 'zcloud-runc';

/** The cgroup (in every v1 hierarchy) under which a host's containers live; removed by `destroy`. Machine-wide, so tagged by checkout. */
export function hostCgroupParent(node: string): string {
  return `zc${checkoutTag}-${node}`;
}

/**
 * Writes the set's OCI runtime: runc, after adapting the bundle's config.json to a machine
 * without CAP_SYS_RESOURCE in its bounding set (this sandbox):
 * - a negative `oomScoreAdj` becomes 0: lowering oom_score_adj needs that capability, and runc
 *   fails the whole container without it ("can't get final child's PID"). The kubelet gives
 *   pause and Guaranteed pods -998, so without this no pod could start;
 * - CAP_SYS_RESOURCE is removed from the container's capability sets: a privileged container
 *   (the kubelet, as ZKE runs it) asks for every capability, and runc cannot grant one it does
 *   not hold ("unable to apply caps: operation not permitted").
 * On a machine that has the capability the wrapper changes nothing. Returns its path.
 */
export function writeRuntimeWrapper(layout: HostSetLayout): string {
  const dir = join(layout.dir, 'bin');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, runtimeName);
  const script = `#!/bin/sh
# zcloud testenv: runc, adapted to a machine whose bounding set lacks CAP_SYS_RESOURCE (bit 24).
bundle=""
process=""
previous=""
for argument in "$@"; do
  case "$previous" in --bundle|-b) bundle="$argument" ;; --process|-p) process="$argument" ;; esac
  case "$argument" in --bundle=*) bundle="\${argument#--bundle=}" ;; --process=*) process="\${argument#--process=}" ;; esac
  previous="$argument"
done
bounding=$(sed -n 's/^CapBnd:[[:space:]]*//p' /proc/self/status)
if [ $(( 0x$bounding >> 24 & 1 )) -eq 0 ]; then
  without_sys_resource='with_entries(.value |= map(select(. != "CAP_SYS_RESOURCE")))'
  # create/run: the container's config.json.
  config="$bundle/config.json"
  if [ -n "$bundle" ] && [ -f "$config" ]; then
    jq "(if (.process.oomScoreAdj // 0) < 0 then .process.oomScoreAdj = 0 else . end)
        | (if .process.capabilities then .process.capabilities |= $without_sys_resource else . end)" \\
      "$config" > "$config.zcloud-tmp" && mv "$config.zcloud-tmp" "$config"
  fi
  # exec (docker exec into a privileged container): the process spec file.
  if [ -n "$process" ] && [ -f "$process" ]; then
    jq "(if .capabilities then .capabilities |= $without_sys_resource else . end)" \\
      "$process" > "$process.zcloud-tmp" && mv "$process.zcloud-tmp" "$process"
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
