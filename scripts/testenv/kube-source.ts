import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.js';
import { cacheRoot } from './paths.js';
import { progress } from './progress.js';

/** Debian's source package holding Kubernetes 1.20 with its vendor/ tree. */
export const kubeSourcePackage = 'kubernetes';

const systemSourceList = '/etc/apt/sources.list';
const systemSourceParts = '/etc/apt/sources.list.d';

/** A deb-src file for the private apt configuration: file name and content. */
export interface SourceFile {
  name: string;
  content: string;
}

/**
 * Turns one deb822 `.sources` file into a deb-src one: `Types: deb` becomes `Types: deb-src`,
 * paragraphs without `deb` or with `Enabled: no` are dropped. Returns '' when nothing is left.
 */
export function debSrcFromDeb822(text: string): string {
  const paragraphs = text.split(/\n\s*\n/);
  const kept = paragraphs.flatMap((paragraph) => {
    const lines = paragraph.split('\n');
    const field = (name: string): string | undefined =>
      lines.find((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))?.replace(/^[^:]*:\s*/, '');
    const types = (field('Types') ?? '').split(/\s+/);
    if (!types.includes('deb') || field('Enabled')?.toLowerCase() === 'no') return [];
    return [lines.map((line) => (/^types:/i.test(line) ? 'Types: deb-src' : line)).join('\n')];
  });
  return kept.length ? `${kept.join('\n\n')}\n` : '';
}

/** Turns the `deb` lines of a one-line-style `.list` file into `deb-src` lines, dropping everything else. */
export function debSrcFromOneLine(text: string): string {
  const lines = text
    .split('\n')
    .filter((line) => /^\s*deb\s/.test(line))
    .map((line) => line.replace(/^\s*deb\s/, 'deb-src '));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/**
 * The deb-src entries derived from this machine's own apt sources, so that no mirror is
 * named in the repository and the machine's mirror choice is respected. Files with other
 * suffixes (e.g. `.disabled`) are ignored, as apt ignores them.
 */
export function derivedSourceFiles(): SourceFile[] {
  const files: SourceFile[] = [];
  const readable = (path: string): string | undefined => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const main = readable(systemSourceList);
  if (main !== undefined) files.push({ name: 'main.list', content: debSrcFromOneLine(main) });
  let entries: string[] = [];
  try {
    entries = readdirSync(systemSourceParts).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  for (const entry of entries) {
    const text = readable(join(systemSourceParts, entry)) ?? '';
    if (entry.endsWith('.sources')) files.push({ name: entry, content: debSrcFromDeb822(text) });
    else if (entry.endsWith('.list')) files.push({ name: entry, content: debSrcFromOneLine(text) });
  }
  return files.filter((file) => file.content !== '');
}

/** Private apt state: its own source list, package lists and archive cache, under the build cache. */
function privateAptOptions(): string[] {
  const root = join(cacheRoot, 'apt');
  const parts = join(root, 'sources.list.d');
  rmSync(parts, { recursive: true, force: true });
  for (const dir of [parts, join(root, 'lists', 'partial'), join(root, 'cache', 'archives', 'partial')]) {
    mkdirSync(dir, { recursive: true });
  }
  const files = derivedSourceFiles();
  if (files.length === 0) throw new Error(`no deb entries found in ${systemSourceList} or ${systemSourceParts}`);
  for (const file of files) writeFileSync(join(parts, file.name), file.content);
  writeFileSync(join(root, 'sources.list'), '');
  return [
    '-o', `Dir::Etc::sourcelist=${join(root, 'sources.list')}`,
    '-o', `Dir::Etc::sourceparts=${parts}`,
    '-o', `Dir::State::Lists=${join(root, 'lists')}`,
    '-o', `Dir::Cache=${join(root, 'cache')}`,
    // Our directories live under root's home, which the _apt sandbox user cannot read.
    '-o', 'APT::Sandbox::User=root',
  ];
}

/**
 * Downloads and unpacks the Kubernetes source package into `workDir` with a private apt
 * configuration; the system's apt configuration and lists are never touched.
 * Returns the unpacked source tree's path.
 */
export async function fetchKubeSource(workDir: string): Promise<string> {
  const options = privateAptOptions();
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  try {
    progress('updating the private deb-src package lists');
    await run('apt-get', [...options, '-q', 'update'], { env });
    progress(`downloading and unpacking the ${kubeSourcePackage} source package`);
    await run('apt-get', [...options, '-q', 'source', kubeSourcePackage], { cwd: workDir, env });
  } catch (err) {
    throw new Error(`fetch the ${kubeSourcePackage} source package: ${(err as Error).message}`, { cause: err });
  }
  const tree = readdirSync(workDir, { withFileTypes: true }).find(
    (entry) => entry.isDirectory() && entry.name.startsWith(`${kubeSourcePackage}-`),
  );
  if (!tree) throw new Error(`apt-get source ${kubeSourcePackage} left no source tree in ${workDir}`);
  return join(workDir, tree.name);
}
