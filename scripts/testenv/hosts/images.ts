import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { defaultImages, imageReference, imageRoles, type ImageRole } from '../../../src/provisioning/images.js';
import { CNI_IMAGE_DIR, CNI_PLUGINS } from '../../../src/provisioning/pod-network.js';
import { exec, run } from '../command.js';
import { cachedKubeBinaries, cachedKubeNodeBinaries } from '../kube-build.js';
import { cacheRoot, repoRoot } from '../paths.js';
import { progress } from '../progress.js';

/**
 * The images the hosts' Docker daemons run, built on this machine from what is installed and
 * cached here (no registry is reachable): a busybox base, a pause image, etcd from Debian's
 * etcd-server, and the Kubernetes binaries of the cached builds. Each image is a root
 * filesystem tar (`docker import`), cached under `~/.cache/zcloud/images/` by the hash of
 * everything that goes into it; a host is loaded only with images whose hash it lacks.
 */
export const imagesCacheDir = join(cacheRoot, 'images');

/** Label every imported image carries; `load` compares it to skip images a host already has. */
export const contentHashLabel = 'zcloud.cn/content-hash';

/** Bumped when the way images are put together changes, so old tars stop matching. */
const recipeVersion = 2;
const imagePath = '/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin';
const busyboxPath = '/bin/busybox';

interface ImageFile {
  source: string;
  target: string;
}

/** What goes into one image: files from this machine, and how the container starts. */
interface ImageRecipe {
  role: ImageRole;
  reference: string;
  files: ImageFile[];
  /** Busybox and its applets under /bin etc., for images whose containers need a shell. */
  shell: boolean;
  /** Symbolic links to create: path in the image -> what it points to. */
  links?: Record<string, string>;
  entrypoint?: string[];
}

/** A built image: its root filesystem tar and the `docker import --change` lines it needs. */
export interface BuiltImage {
  role: ImageRole;
  reference: string;
  contentHash: string;
  tarPath: string;
  changes: string[];
}

/** What `buildHostImages` made, and which roles it could not build (and why). */
export interface HostImages {
  images: BuiltImage[];
  missing: { role: ImageRole; reason: string }[];
}

/**
 * Builds (or finds cached) every image of src/provisioning/images.ts that this machine can
 * build. The Kubernetes images need the cached builds (`ensure` makes them); without one its
 * images are reported missing rather than failing the whole set.
 */
export async function buildHostImages(): Promise<HostImages> {
  mkdirSync(imagesCacheDir, { recursive: true });
  const servers = cachedKubeBinaries();
  const node = cachedKubeNodeBinaries();
  const missing: HostImages['missing'] = [];
  const recipes: ImageRecipe[] = [];
  for (const role of imageRoles) {
    const reference = imageReference(role);
    switch (role) {
      case 'base':
        recipes.push({ role, reference, files: [], shell: true });
        break;
      case 'pause':
        recipes.push({ role, reference, files: [{ source: await pauseBinary(), target: '/pause' }], shell: false, entrypoint: ['/pause'] });
        break;
      case 'etcd':
        recipes.push({ role, reference, files: await withLibraries(['/usr/bin/etcd', '/usr/bin/etcdctl'], '/usr/local/bin'), shell: true });
        break;
      case 'kube-apiserver':
      case 'kube-controller-manager':
      case 'kube-scheduler':
        if (!servers) {
          missing.push({ role, reason: 'the Kubernetes servers are not built yet (`npm run testenv -- ensure` builds them)' });
          break;
        }
        recipes.push({ role, reference, files: [{ source: servers.paths[role], target: `/usr/local/bin/${role}` }], shell: true });
        break;
      case 'kubelet':
      case 'kube-proxy':
        if (!node) {
          missing.push({ role, reason: 'kubelet and kube-proxy are not built yet (`npm run testenv -- ensure` builds them)' });
          break;
        }
        recipes.push({
          role,
          reference,
          files: [{ source: node.paths[role], target: `/usr/local/bin/${role}` }, ...(await iptablesFiles())],
          links: iptablesLinks,
          shell: true,
        });
        break;
      case 'apiserver-proxy':
        recipes.push({ role, reference, files: await withLibraries(['/usr/sbin/haproxy'], '/usr/local/sbin'), shell: true });
        break;
      case 'cni-plugins':
        // Debian's containernetworking-plugins (1.1.1: no flannel plugin, which flannel's own image brings).
        recipes.push({ role, reference, files: await withLibraries(CNI_PLUGINS.map((plugin) => `/usr/lib/cni/${plugin}`), CNI_IMAGE_DIR), shell: true });
        break;
      case 'flannel':
      case 'flannel-cni-plugin':
      case 'coredns':
      case 'nginx-ingress-controller':
        missing.push({ role, reason: 'add-on images come from a registry, which the test world cannot reach' });
        break;
    }
  }
  const images: BuiltImage[] = [];
  for (const recipe of recipes) images.push(await buildImage(recipe));
  return { images, missing };
}

async function buildImage(recipe: ImageRecipe): Promise<BuiltImage> {
  const changes = [`ENV PATH=${imagePath}`, ...(recipe.entrypoint ? [`ENTRYPOINT ${JSON.stringify(recipe.entrypoint)}`] : [])];
  const applets = recipe.shell ? busyboxApplets() : [];
  const files = recipe.shell ? [{ source: busyboxPath, target: busyboxPath }, ...recipe.files] : recipe.files;
  const fingerprint = {
    recipeVersion,
    reference: recipe.reference,
    changes,
    applets,
    links: recipe.links ?? {},
    files: await Promise.all(files.map(async (file) => ({ target: file.target, sha256: await fileHash(file.source) }))),
  };
  const contentHash = createHash('sha256').update(JSON.stringify(fingerprint)).digest('hex');
  const image = defaultImages[recipe.role];
  const tarPath = join(imagesCacheDir, `${image.name}_${image.tag}-${contentHash.slice(0, 16)}.tar`);
  const built: BuiltImage = { role: recipe.role, reference: recipe.reference, contentHash, tarPath, changes: [...changes, `LABEL ${contentHashLabel}=${contentHash}`] };
  if (existsSync(tarPath)) return built;

  progress(`building image ${recipe.reference}`);
  const stage = join(imagesCacheDir, `.stage-${process.pid}-${image.name}`);
  rmSync(stage, { recursive: true, force: true });
  try {
    for (const dir of ['etc', 'tmp', 'root', 'run', 'var', 'usr/local/bin']) mkdirSync(join(stage, dir), { recursive: true });
    chmodSync(join(stage, 'tmp'), 0o1777);
    // As on Debian: a container given the host's /run (the kubelet) finds the Docker socket at /var/run too.
    symlinkSync('/run', join(stage, 'var', 'run'));
    writeFileSync(join(stage, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
    writeFileSync(join(stage, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
    for (const file of files) {
      const target = join(stage, file.target);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(realpathSync(file.source), target);
      chmodSync(target, statSync(file.source).mode & 0o777);
    }
    for (const [link, target] of Object.entries(recipe.links ?? {})) {
      mkdirSync(dirname(join(stage, link)), { recursive: true });
      rmSync(join(stage, link), { force: true });
      symlinkSync(target, join(stage, link));
    }
    for (const applet of applets) {
      const target = join(stage, applet);
      if (existsSync(target)) continue;
      mkdirSync(dirname(target), { recursive: true });
      symlinkSync(busyboxPath, target);
    }
    // Reproducible: the same inputs give the same bytes (owner, order and times fixed).
    const temporary = `${tarPath}.${process.pid}.tmp`;
    await run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', stage, '-cf', temporary, '.']);
    renameSync(temporary, tarPath);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
  return built;
}

/** Busybox's applets as paths relative to / (`bin/sh`, `usr/bin/awk`, ...). */
function busyboxApplets(): string[] {
  // Synchronous on purpose: once per image build, about a millisecond.
  return execFileSync(busyboxPath, ['--list-full'], { encoding: 'utf8' }).split('\n').filter((line) => line !== '' && line !== 'bin/busybox');
}

/** `binaries` plus the shared libraries they load (by `ldd`), at the same paths, binaries under `binDir`. */
async function withLibraries(binaries: string[], binDir: string): Promise<ImageFile[]> {
  const files: ImageFile[] = binaries.map((source) => ({ source, target: join(binDir, source.split('/').pop()!) }));
  const libraries = await sharedLibraries(binaries);
  return [...files, ...libraries.map((library) => ({ source: library, target: library }))];
}

const lddMemoPath = join(imagesCacheDir, 'shared-libraries.json');

/**
 * The shared libraries `binaries` load, by `ldd`, remembered by the files' (size, mtime):
 * ldd runs the dynamic loader once per file, ~1 s for iptables' 120 extensions, which a warm
 * `ensure` or `hosts` should not pay.
 */
async function sharedLibraries(binaries: string[]): Promise<string[]> {
  const key = createHash('sha256')
    .update(JSON.stringify(binaries.map((path) => {
      const stat = statSync(path);
      return [path, stat.size, stat.mtimeMs];
    })))
    .digest('hex');
  const memo = existsSync(lddMemoPath) ? (JSON.parse(readFileSync(lddMemoPath, 'utf8')) as Record<string, string[]>) : {};
  const known = memo[key];
  if (known) return known;
  // One ldd for all: it prints a section per file. Its exit code is non-zero when any file is
  // static ("not a dynamic executable"), which only means that file adds nothing.
  const { stdout } = await exec('ldd', binaries);
  const libraries = new Set<string>();
  for (const match of stdout.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) libraries.add(match[1]!);
  const result = [...libraries].sort();
  const latest = existsSync(lddMemoPath) ? (JSON.parse(readFileSync(lddMemoPath, 'utf8')) as Record<string, string[]>) : {};
  latest[key] = result;
  const temporary = `${lddMemoPath}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(latest));
  renameSync(temporary, lddMemoPath);
  return result;
}

/**
 * iptables for the kubelet (its KUBE-MARK-* chains) and kube-proxy (service rules), which run
 * it by name: Debian's legacy xtables binary, its libraries and its extension modules (loaded
 * with dlopen, so `ldd` cannot find them). Legacy rather than nft: both work inside a host's
 * network namespace here, and legacy is what Kubernetes 1.20's own images used.
 */
const xtablesBinary = '/usr/sbin/xtables-legacy-multi';
const xtablesExtensions = '/usr/lib/x86_64-linux-gnu/xtables';
const iptablesLinks: Record<string, string> = Object.fromEntries(
  ['iptables', 'iptables-save', 'iptables-restore', 'ip6tables', 'ip6tables-save', 'ip6tables-restore'].map((name) => [`/usr/sbin/${name}`, xtablesBinary]),
);

async function iptablesFiles(): Promise<ImageFile[]> {
  const extensions = existsSync(xtablesExtensions) ? readdirSync(xtablesExtensions).filter((name) => name.endsWith('.so')).sort() : [];
  const binaries = [xtablesBinary, ...extensions.map((name) => join(xtablesExtensions, name))];
  const files = await withLibraries(binaries, '/usr/sbin');
  // withLibraries puts binaries under /usr/sbin; the extensions belong where xtables looks for them.
  return files.map((file) => (file.source.startsWith(`${xtablesExtensions}/`) ? { source: file.source, target: file.source } : file));
}

/** The pause program (hosts/pause/pause.go), built once per source hash with Debian's Go, static. */
async function pauseBinary(): Promise<string> {
  const source = join(repoRoot, 'scripts', 'testenv', 'hosts', 'pause', 'pause.go');
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const binary = join(imagesCacheDir, `pause-${hash}`);
  if (existsSync(binary)) return binary;
  progress('building the pause program');
  const goHome = join(imagesCacheDir, '.go');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `/usr/lib/go/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
    CGO_ENABLED: '0',
    GOPROXY: 'off',
    GOTOOLCHAIN: 'local',
    GOFLAGS: '',
    GO111MODULE: 'off',
    GOPATH: join(goHome, 'path'),
    GOCACHE: join(goHome, 'cache'),
    HOME: goHome,
  };
  const temporary = `${binary}.${process.pid}.tmp`;
  await run('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', temporary, source], { env });
  renameSync(temporary, binary);
  return binary;
}

interface HashMemo {
  [path: string]: { size: number; mtimeMs: number; ino: number; sha256: string };
}
const hashMemoPath = join(imagesCacheDir, 'file-hashes.json');

/**
 * sha256 of a file's content, remembered by (size, mtime, inode): the Kubernetes binaries are
 * ~100 MB each, and a warm `hosts` should not read them all again to learn nothing changed.
 */
let hashMemo: HashMemo | undefined;

async function fileHash(path: string): Promise<string> {
  const real = realpathSync(path);
  const stat = statSync(real);
  hashMemo ??= existsSync(hashMemoPath) ? (JSON.parse(readFileSync(hashMemoPath, 'utf8')) as HashMemo) : {};
  const known = hashMemo[real];
  if (known && known.size === stat.size && known.mtimeMs === stat.mtimeMs && known.ino === stat.ino) return known.sha256;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(real)) hash.update(chunk as Buffer);
  const sha256 = hash.digest('hex');
  const latest: HashMemo = existsSync(hashMemoPath) ? (JSON.parse(readFileSync(hashMemoPath, 'utf8')) as HashMemo) : {};
  latest[real] = { size: stat.size, mtimeMs: stat.mtimeMs, ino: stat.ino, sha256 };
  hashMemo[real] = latest[real];
  const temporary = `${hashMemoPath}.${process.pid}.tmp`;
  writeFileSync(temporary, JSON.stringify(latest));
  renameSync(temporary, hashMemoPath);
  return sha256;
}

/** The content hash of `reference` in the daemon at `socketPath`, or undefined when it lacks the image. */
async function loadedHash(socketPath: string, reference: string): Promise<string | undefined> {
  const { exitCode, stdout } = await exec('docker', ['--host', `unix://${socketPath}`, 'image', 'inspect', '--format', `{{ index .Config.Labels "${contentHashLabel}" }}`, reference]);
  return exitCode === 0 ? stdout.trim() : undefined;
}

/** Imports every image the daemon at `socketPath` does not hold with the same content hash. Returns the references imported. */
export async function loadImages(socketPath: string, images: readonly BuiltImage[]): Promise<string[]> {
  const imported: string[] = [];
  for (const image of images) {
    if ((await loadedHash(socketPath, image.reference)) === image.contentHash) continue;
    const changes = image.changes.flatMap((change) => ['--change', change]);
    await run('docker', ['--host', `unix://${socketPath}`, 'import', ...changes, image.tarPath, image.reference]);
    imported.push(image.reference);
  }
  return imported;
}
