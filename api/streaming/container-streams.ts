import { z } from 'zod';
import type { ClusterManager } from '../../src/clusters/cluster-manager.js';
import { ForbiddenError, InputError } from '../../src/errors.js';
import type { Logger } from '../../src/logger.js';
import { followContainerLog } from '../../src/kube/container-log.js';
import { translateKubeError } from '../../src/kube/kube-errors.js';
import { openTerminal } from '../../src/kube/pod-exec.js';
import { clusterShellLeaseMs, createClusterShell, removeClusterShell, renewClusterShell } from '../../src/streaming/cluster-shell.js';
import { CONTAINER_PATH, containerTarget } from './container-target.js';
import type { StreamEndpoint } from './gateway.js';
import { closeReason, CLOSE_CODES } from './stream-socket.js';
import { bridgeTerminal } from './terminal-bridge.js';

/** The shell a pod shell or cluster shell runs: every image has one, busybox's included. */
const SHELL_COMMAND = ['sh'];

const LogQuery = z.object({
  tailLines: z.coerce.number().int().min(0).max(1_000_000).optional(),
  sinceSeconds: z.coerce.number().int().min(1).optional(),
});

export interface ShellOptions {
  logger: Logger;
  idleLimitMs: number;
  kubectlImage: string;
}

/**
 * `.../containers/{container}/log`: the container's log through the apiserver, one line per
 * text frame (`tailLines`, `sinceSeconds` pick where it starts), then each new line; closes
 * with 1000 when the container ends, 4011 when the apiserver refuses or fails.
 */
export function containerLogStream(clusters: ClusterManager, logger: Logger): StreamEndpoint {
  return {
    path: `${CONTAINER_PATH}/log`,
    async open(request) {
      const { runtime, ref } = containerTarget(clusters, request);
      const parsed = LogQuery.safeParse(Object.fromEntries(request.query));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new InputError(`${String(issue.path[0])}: ${issue.message}`, String(issue.path[0]));
      }
      return (socket) => {
        const stop = new AbortController();
        socket.onClose(() => stop.abort());
        followContainerLog(runtime.http, ref, parsed.data, (line) => socket.send(line), stop.signal)
          .then(() => socket.close(1000, 'the container ended'))
          .catch((err: unknown) => {
            const failure = translateKubeError(err, `log of ${ref.namespace}/${ref.pod}/${ref.container}`) as Error;
            logger.warn('container log stream failed', { error: failure.message });
            socket.close(CLOSE_CODES.sourceFailed, closeReason(failure.message));
          });
      };
    },
  };
}

/** `.../containers/{container}/shell`: a terminal running `sh` in the container, for admin or a user holding the namespace. */
export function podShellStream(clusters: ClusterManager, options: ShellOptions): StreamEndpoint {
  return {
    path: `${CONTAINER_PATH}/shell`,
    async open(request) {
      const { runtime, ref } = containerTarget(clusters, request);
      return (socket) =>
        void bridgeTerminal(socket, {
          open: (size, onOutput) => openTerminal(runtime.http.kubeConfig, ref, SHELL_COMMAND, size, onOutput),
          idleLimitMs: options.idleLimitMs,
          logger: options.logger,
        });
    },
  };
}

/**
 * `/clusters/{cluster}/shell`: admin's kubectl shell. A pod with a ServiceAccount bound to
 * cluster-admin is made in the cluster when the size frame comes, and deleted (with the account
 * and binding) when the socket closes, whatever closed it: the client, the idle limit, zcloud
 * stopping (whose stop waits for the deletes, see `drain`). While the socket is open the shell's
 * lease is renewed, so that a zcloud killed with shells open leaves nothing for long: the
 * cluster-shell sweeper deletes a shell whose lease ran out.
 */
export function clusterShellStream(clusters: ClusterManager, options: ShellOptions): StreamEndpoint {
  /** Every session until its objects are deleted after its socket closed. */
  const sessions = new Set<Promise<void>>();
  return {
    path: '/clusters/{cluster}/shell',
    async drain() {
      await Promise.all(sessions);
    },
    async open({ user, params }) {
      const runtime = clusters.requireAvailable(params.cluster!);
      if (!user.isAdmin) throw new ForbiddenError('only admin may open a cluster shell');
      let made: Awaited<ReturnType<typeof createClusterShell>> | undefined;
      let renewal: NodeJS.Timeout | undefined;
      const leaseMs = clusterShellLeaseMs(options.idleLimitMs);
      const renew = (): void => {
        if (!made) return;
        renewClusterShell(runtime.http, made, leaseMs).catch((err: unknown) => options.logger.warn('cluster shell lease not renewed', { cluster: params.cluster, error: (err as Error).message }));
      };
      return (socket) => {
        const session = bridgeTerminal(socket, {
          open: async (size, onOutput) => {
            made = await createClusterShell(runtime.http, { user: user.name, clusterRole: 'cluster-admin', image: options.kubectlImage, leaseMs });
            renewal = setInterval(renew, leaseMs / 3);
            return openTerminal(runtime.http.kubeConfig, made.container, SHELL_COMMAND, size, onOutput);
          },
          idleLimitMs: options.idleLimitMs,
          logger: options.logger,
          cleanUp: async () => {
            clearInterval(renewal);
            if (made) await removeClusterShell(runtime.http, made);
          },
        });
        sessions.add(session);
        void session.then(() => sessions.delete(session));
      };
    },
  };
}
