import { closeSync, constants, ftruncateSync, openSync, readSync, realpathSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import fsx from 'fs-native-extensions';
import { DataDirInUseError } from '../errors.js';

export const LOCK_FILE = 'zcloud.lock';

/** Data dirs this process holds, by real path. */
const heldInThisProcess = new Set<string>();

export interface DataDirLock {
  readonly dir: string;
  /** Gives the data dir up. Idempotent. */
  release(): void;
}

/**
 * Makes this process the only writer of `dataDir`, or throws DataDirInUseError.
 *
 * Why a kernel lock, and this one (issue 22): a pid written in a file means nothing across PID
 * namespaces, and in a container zcloud has the same pid (1) after every restart, so after a
 * SIGKILL the old file blocked the restart forever, while a zcloud in another namespace took
 * over a live lock. An open file description (OFD) lock on `zcloud.lock` (fcntl F_OFD_SETLK,
 * through fs-native-extensions) is held by the open file, not by a pid: the kernel drops it the
 * moment the process dies however it dies, it conflicts between any two processes on the same
 * file whatever their namespaces, and, unlike a POSIX record lock, closing some other descriptor
 * of the file does not drop it. The package ships prebuilt Linux binaries, so nothing is
 * compiled at install (fs-ext needs node-gyp and Node's headers); a helper `flock` child process
 * would work too, but its lock outlives a killed zcloud until the helper notices, so a quick
 * restart could find it still held. A lock heartbeat (mtime) needs a stale timeout and a clock.
 *
 * The file is never deleted: a process that opened it just before a deletion would lock an
 * orphaned inode while a third one locks a new file. Its content (pid, host, start time) is only
 * for the message another process prints. Node opens files close-on-exec, so child processes do
 * not inherit the descriptor and cannot keep the lock alive after we die.
 *
 * The kernel lock does not stop this process from opening the dir twice through two
 * descriptors (the second tryLock would fail, but with a misleading message), so the set of dirs
 * held here is kept in memory and checked first.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const dir = realpathSync(dataDir);
  if (heldInThisProcess.has(dir)) throw new DataDirInUseError(`data dir ${dir} is already open in this process`);
  const file = path.join(dir, LOCK_FILE);
  const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, 0o600);
  try {
    if (!fsx.tryLock(fd)) {
      throw new DataDirInUseError(
        `data dir ${dir} is in use by process ${describeHolder(fd)}; only one zcloud may use a data dir at a time (the lock is released when that process exits)`,
      );
    }
    ftruncateSync(fd, 0);
    const holder: Holder = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    writeSync(fd, `${JSON.stringify(holder)}\n`, 0);
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  heldInThisProcess.add(dir);
  let released = false;
  return {
    dir,
    release() {
      if (released) return;
      released = true;
      heldInThisProcess.delete(dir);
      // Closing the only descriptor of the open file description releases the lock.
      closeSync(fd);
    },
  };
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** What the holder wrote about itself, for the message; the lock itself never depends on it. */
function describeHolder(fd: number): string {
  const buffer = Buffer.alloc(512);
  const text = buffer.subarray(0, readSync(fd, buffer, 0, buffer.length, 0)).toString('utf8').trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  // A holder between its lock and its write, or an older zcloud's bare pid: say what we can.
  if (!parsed || typeof parsed !== 'object') return /^\d+$/.test(text) ? text : '(unknown)';
  const holder = parsed as Partial<Holder>;
  return `${holder.pid ?? '(unknown)'} on host ${holder.host ?? '(unknown)'} since ${holder.since ?? '(unknown)'} (the pid as seen in its own PID namespace)`;
}
