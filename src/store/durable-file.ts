import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Marks the temp files writeFileDurably makes; `removeLeftoverTempFiles` finds them by it. */
const TEMP_MARK = '.tmp-';

function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Replaces `file` with `data` so that, after it resolves, the new content survives a SIGKILL,
 * an OS crash and a power cut, and at no moment can a reader (or a restart) find the file empty
 * or half written: writes a temp file in the same directory, fsyncs it, renames it over `file`
 * (atomic within one file system), then fsyncs the directory so the rename itself is durable.
 * `mode` applies to the new file from its creation, so a key file is never readable by others.
 * A crash leaves at most a `.<name>.tmp-*` file beside it, which nothing reads.
 */
export async function writeFileDurably(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const temp = tempPathFor(file);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(path.dirname(file));
}

/** writeFileDurably for start-up code that is synchronous (the signing key). */
export function writeFileDurablySync(file: string, data: string | Uint8Array, mode = 0o600): void {
  const temp = tempPathFor(file);
  try {
    const fd = openSync(temp, 'wx', mode);
    try {
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, file);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  syncDirectorySync(path.dirname(file));
}

/**
 * The trimmed text of a small key file, or undefined when it is absent or empty. Empty is what an
 * older zcloud left when killed while writing a key in place: no secret was ever made with it,
 * so callers treat it as absent and generate a new key.
 */
export function readKeyFileSync(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Makes creations, renames and removals of entries in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function syncDirectorySync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Deletes the temp files a killed writeFileDurably left in `dir`. Call only while holding the
 * dir's lock: a live writer's temp file looks the same.
 */
export async function removeLeftoverTempFiles(dir: string): Promise<string[]> {
  const leftovers = (await readdir(dir)).filter((name) => name.startsWith('.') && name.includes(TEMP_MARK));
  for (const name of leftovers) await rm(path.join(dir, name), { force: true });
  return leftovers;
}

/** mkdir -p (new directories 0700: only zcloud's user reads its state) that also makes the entry of the first directory it created durable in its parent. */
export async function ensureDirectory(dir: string): Promise<void> {
  const created = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (created !== undefined) await syncDirectory(path.dirname(created));
}
