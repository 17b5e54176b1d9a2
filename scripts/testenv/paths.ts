import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file's own location so any working directory works. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Build cache shared by every checkout on the machine (Kubernetes binaries, private apt state).
 * Defaults to ~/.cache/zcloud; ZCLOUD_CACHE_DIR overrides it (CI caches, tests of a cold start).
 */
export const cacheRoot = process.env.ZCLOUD_CACHE_DIR ?? join(homedir(), '.cache', 'zcloud');

/** Per-checkout cluster state: one directory per cluster name. Gitignored. */
export const testenvRoot = process.env.ZCLOUD_TESTENV_DIR ?? join(repoRoot, '.testenv');

/**
 * Short tag of this checkout's test-world directory. Names that are machine-wide (network
 * namespaces, cgroups) carry it, so two checkouts running the same host set name at once (a CI
 * clone beside a working copy) never touch each other's hosts.
 */
export const checkoutTag = createHash('sha256').update(testenvRoot).digest('hex').slice(0, 6);
