import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './command.js';
import { fetchKubeSource } from './kube-source.js';
import { cacheRoot } from './paths.js';
import { formatDuration, progress } from './progress.js';

/**
 * The Kubernetes version Debian bookworm ships as source ("1.20.5+really1.20.2"). The cache is
 * keyed on it; a source tree of another version is refused rather than cached under this name.
 */
export const kubeVersion = '1.20.2';

/** The control-plane servers we build for the loopback test clusters. */
export const kubeComponents = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type KubeComponent = (typeof kubeComponents)[number];

/**
 * The node components, for the images the test world's hosts run (docs/test-world.md). A
 * separate build with its own cache directory and stamp: adding them to the servers' build
 * would have invalidated every machine's cached servers.
 */
export const kubeNodeComponents = ['kubelet', 'kube-proxy'] as const;
export type KubeNodeComponent = (typeof kubeNodeComponents)[number];

/** Built binaries, by component, plus the stamp that made them count as cached. */
export interface BuiltKubeBinaries<C extends string> {
  version: string;
  dir: string;
  paths: Record<C, string>;
}
export type KubeBinaries = BuiltKubeBinaries<KubeComponent>;
export type KubeNodeBinaries = BuiltKubeBinaries<KubeNodeComponent>;

/**
 * Changes made to Debian's tree before building, recorded in the stamp: a cache built without
 * all of them is stale and gets rebuilt.
 *
 * reflect2: Kubernetes 1.20 vendors github.com/modern-go/reflect2 1.0.1, which predates Go
 * 1.18's map iterator layout; built with bookworm's Go 1.19, kube-apiserver dies with SIGSEGV
 * (reflect2 UnsafeIterate) as soon as a custom resource is created or read. Debian packages
 * reflect2 1.0.2, which handles Go >= 1.18; it replaces the vendored copy.
 */
const SOURCE_PATCHES = ['vendor-reflect2-1.0.2'] as const;
const DEBIAN_REFLECT2 = '/usr/share/gocode/src/github.com/modern-go/reflect2';

/** Written last into a finished cache directory; its presence is what "cached" means. */
interface BuildStamp {
  version: string;
  patches?: string[];
  sourcePackageVersion: string;
  goVersion: string;
  builtAt: string;
  buildSeconds: number;
}

/** One cached build: which `cmd/` targets, and the directory holding `bin/` and `stamp.json`. */
interface KubeBuildSpec<C extends string> {
  components: readonly C[];
  cacheDir: string;
}

export const kubeCacheDir = join(cacheRoot, `kube-v${kubeVersion}`);
export const kubeNodeCacheDir = join(cacheRoot, `kube-node-v${kubeVersion}`);
const serverBuild: KubeBuildSpec<KubeComponent> = { components: kubeComponents, cacheDir: kubeCacheDir };
const nodeBuild: KubeBuildSpec<KubeNodeComponent> = { components: kubeNodeComponents, cacheDir: kubeNodeCacheDir };

function binariesIn<C extends string>(build: KubeBuildSpec<C>, dir: string): BuiltKubeBinaries<C> {
  const bin = join(dir, 'bin');
  const paths = Object.fromEntries(build.components.map((name) => [name, join(bin, name)])) as Record<C, string>;
  return { version: kubeVersion, dir, paths };
}

function cachedBuild<C extends string>(build: KubeBuildSpec<C>): BuiltKubeBinaries<C> | undefined {
  const stampPath = join(build.cacheDir, 'stamp.json');
  if (!existsSync(stampPath)) return undefined;
  const stamp = JSON.parse(readFileSync(stampPath, 'utf8')) as BuildStamp;
  if (!SOURCE_PATCHES.every((patch) => stamp.patches?.includes(patch))) return undefined;
  const binaries = binariesIn(build, build.cacheDir);
  return Object.values<string>(binaries.paths).every((path) => existsSync(path)) ? binaries : undefined;
}

/** The cached binaries, or undefined when the cache is absent or was never finished. Reads files only. */
export function cachedKubeBinaries(): KubeBinaries | undefined {
  return cachedBuild(serverBuild);
}

/** The cached kubelet and kube-proxy, or undefined when they were never built. Reads files only. */
export function cachedKubeNodeBinaries(): KubeNodeBinaries | undefined {
  return cachedBuild(nodeBuild);
}

/** The cached binaries; throws with the command to run when `ensure` has not built them yet. */
export function requireKubeBinaries(): KubeBinaries {
  const binaries = cachedKubeBinaries();
  if (!binaries) throw new Error(`Kubernetes ${kubeVersion} binaries are not built yet: run \`npm run testenv -- ensure\``);
  return binaries;
}

/** How often a cold build reports that it is still alive, so CI logs never look hung. */
const heartbeatMs = 30_000;

/**
 * Fetches Debian's Kubernetes source and builds the control-plane servers with the tree's own
 * `make WHAT=...`, the way Debian's debian/rules does (a GOPATH with k8s.io/kubernetes linked
 * to the tree, CGO off), offline (GOPROXY=off: vendor/ has everything). Takes minutes.
 *
 * Everything happens in a scratch directory next to the cache; the finished `bin/` and the
 * stamp are moved into place with one rename, so an interrupted build never counts as cached.
 */
export function buildKubeBinaries(): Promise<KubeBinaries> {
  return buildKubeTargets(serverBuild);
}

/** Builds kubelet and kube-proxy the same way as the servers, into their own cache directory. */
export function buildKubeNodeBinaries(): Promise<KubeNodeBinaries> {
  return buildKubeTargets(nodeBuild);
}

async function buildKubeTargets<C extends string>(build: KubeBuildSpec<C>): Promise<BuiltKubeBinaries<C>> {
  const { components, cacheDir } = build;
  const started = Date.now();
  mkdirSync(cacheRoot, { recursive: true });
  removeAbandonedBuilds();
  const scratch = mkdtempSync(join(cacheRoot, scratchPrefix));
  writeFileSync(join(scratch, ownerFile), `${process.pid}\n`);
  const heartbeat = setInterval(
    () => progress(`still building Kubernetes ${kubeVersion} (${formatDuration(Date.now() - started)})`),
    heartbeatMs,
  );
  try {
    const srcDir = join(scratch, 'src');
    mkdirSync(srcDir);
    const tree = await fetchKubeSource(srcDir);
    const sourcePackageVersion = checkSourceVersion(tree);
    replaceVendoredReflect2(tree);

    const gopath = join(tree, '.go');
    mkdirSync(join(gopath, 'src', 'k8s.io'), { recursive: true });
    symlinkSync('../../..', join(gopath, 'src', 'k8s.io', 'kubernetes'));
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      GOPATH: gopath,
      PATH: `/usr/lib/go/bin:${process.env.PATH ?? '/usr/bin:/bin'}`,
      CGO_ENABLED: '0',
      GOPROXY: 'off',
      GOTOOLCHAIN: 'local',
      GOFLAGS: '',
      // Debian builds with a HOME that does not exist so nothing leaks in from the user's one.
      HOME: join(scratch, 'home'),
    };
    const goVersion = (await run('go', ['version'], { env })).trim();
    progress(`building ${components.join(', ')} with ${goVersion} (takes several minutes on 2 cores)`);
    await run('make', [`WHAT=${components.map((name) => `cmd/${name}`).join(' ')}`], {
      cwd: tree,
      env,
      onLine: (line) => {
        if (line.startsWith('+++') || /^\s+(\.\/vendor\/|cmd\/)/.test(line)) progress(`make: ${line.trim()}`);
      },
    }).catch((err: Error) => {
      throw new Error(`make ${components.join(' ')} in ${tree}: ${err.message}`, { cause: err });
    });

    const out = join(scratch, 'out');
    const binaries = binariesIn(build, out);
    mkdirSync(join(out, 'bin'), { recursive: true });
    for (const name of components) copyFileSync(join(tree, '_output', 'bin', name), binaries.paths[name]);
    const stamp: BuildStamp = {
      version: kubeVersion,
      patches: [...SOURCE_PATCHES],
      sourcePackageVersion,
      goVersion,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(out, 'stamp.json'), `${JSON.stringify(stamp, null, 2)}\n`);

    // A directory without a current stamp is an interrupted or stale build: replace it.
    if (existsSync(cacheDir) && !cachedBuild(build)) rmSync(cacheDir, { recursive: true, force: true });
    try {
      renameSync(out, cacheDir);
    } catch (err) {
      // Another `ensure` finished first; its result is as good as ours.
      if (!cachedBuild(build)) throw err;
    }
    progress(`built Kubernetes ${kubeVersion} in ${formatDuration(Date.now() - started)}, cached in ${cacheDir}`);
    return binariesIn(build, cacheDir);
  } finally {
    clearInterval(heartbeat);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Swaps the tree's vendored reflect2 for Debian's packaged 1.0.2 (see SOURCE_PATCHES). */
function replaceVendoredReflect2(tree: string): void {
  const vendored = join(tree, 'vendor', 'github.com', 'modern-go', 'reflect2');
  if (!existsSync(join(DEBIAN_REFLECT2, 'go_above_118.go'))) {
    throw new Error(`${DEBIAN_REFLECT2} lacks go_above_118.go: install golang-github-modern-go-reflect2-dev >= 1.0.2`);
  }
  rmSync(vendored, { recursive: true, force: true });
  mkdirSync(vendored, { recursive: true });
  // Package sources only: a go.mod or tests inside vendor/ have no business there.
  for (const name of readdirSync(DEBIAN_REFLECT2)) {
    if (name === 'go.mod' || name.endsWith('_test.go')) continue;
    copyFileSync(join(DEBIAN_REFLECT2, name), join(vendored, name));
  }
  progress('replaced vendored reflect2 1.0.1 with Debian\'s 1.0.2 (Go >= 1.18 map iteration)');
}

const scratchPrefix = '.build-';
/** The pid of the build using a scratch directory, so later builds can tell abandoned ones. */
const ownerFile = 'owner.pid';

/**
 * Deletes the scratch directories of builds that were killed before they could clean up
 * (their owner process is gone); several GiB each. A build still running keeps its own.
 */
function removeAbandonedBuilds(): void {
  for (const entry of readdirSync(cacheRoot)) {
    if (!entry.startsWith(scratchPrefix)) continue;
    const dir = join(cacheRoot, entry);
    const ownerPath = join(dir, ownerFile);
    const owner = existsSync(ownerPath) ? Number(readFileSync(ownerPath, 'utf8').trim()) : 0;
    if (owner > 0 && isAlive(owner)) continue;
    progress(`removing ${dir}, left by an interrupted build`);
    rmSync(dir, { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive but not ours to signal. Only ESRCH means gone.
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** Returns the Debian source version after checking that the tree is the Kubernetes version we cache. */
function checkSourceVersion(tree: string): string {
  const changelog = readFileSync(join(tree, 'debian', 'changelog'), 'utf8');
  const sourcePackageVersion = /^\S+ \(([^)]+)\)/.exec(changelog)?.[1] ?? 'unknown';
  // The tarball is a `git archive` export: its version script carries the release tag.
  const versionScript = readFileSync(join(tree, 'hack', 'lib', 'version.sh'), 'utf8');
  const tag = /'tag: v([0-9.]+)'/.exec(versionScript)?.[1];
  if (tag !== kubeVersion) {
    throw new Error(
      `the ${sourcePackageVersion} source is Kubernetes ${tag ?? 'of unknown version'}, not ${kubeVersion}: ` +
        'update kubeVersion in scripts/testenv/kube-build.ts after checking the test world still works with it',
    );
  }
  return sourcePackageVersion;
}
