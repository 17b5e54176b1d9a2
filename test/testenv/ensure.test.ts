import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { cachedKubeBinaries, cachedKubeNodeBinaries, kubeCacheDir, kubeNodeCacheDir, kubeVersion } from '../../scripts/testenv/kube-build.js';
import { debSrcFromDeb822, debSrcFromOneLine } from '../../scripts/testenv/kube-source.js';
import { repoRoot } from '../../scripts/testenv/paths.js';

describe('test world: ensure', function () {
  it('reuses the cached build: a second ensure is quick and prints nothing', async function () {
    // `npm test` ran ensure before mocha. Without a valid cache, ensure would build for minutes.
    expect(cachedKubeBinaries(), 'run `npm run testenv -- ensure` first').to.not.equal(undefined);
    const started = Date.now();
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(repoRoot, 'scripts', 'testenv.ts'), 'ensure'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(stdout).to.equal('');
    expect(stderr).to.equal('');
    expect(Date.now() - started).to.be.below(10_000);
  });

  it('caches the three servers with a stamp, outside the repository', function () {
    const binaries = cachedKubeBinaries();
    expect(binaries?.dir).to.equal(kubeCacheDir);
    expect(kubeCacheDir.startsWith(repoRoot)).to.equal(false);
    const stamp = JSON.parse(readFileSync(join(kubeCacheDir, 'stamp.json'), 'utf8')) as { version: string; sourcePackageVersion: string };
    expect(stamp.version).to.equal(kubeVersion);
    expect(stamp.sourcePackageVersion).to.contain(`really${kubeVersion}`);
    for (const path of Object.values(binaries!.paths)) expect(existsSync(path), path).to.equal(true);
    const version = spawnSync(binaries!.paths['kube-apiserver'], ['--version'], { encoding: 'utf8' });
    expect(version.stdout.trim()).to.equal(`Kubernetes v${kubeVersion}`);
  });

  it('caches kubelet and kube-proxy as a build of their own, beside the servers\' cache', function () {
    const node = cachedKubeNodeBinaries();
    expect(node?.dir).to.equal(kubeNodeCacheDir);
    expect(kubeNodeCacheDir).to.not.equal(kubeCacheDir);
    const stamp = JSON.parse(readFileSync(join(kubeNodeCacheDir, 'stamp.json'), 'utf8')) as { version: string; patches: string[] };
    expect(stamp.version).to.equal(kubeVersion);
    expect(stamp.patches).to.include('vendor-reflect2-1.0.2');
    for (const path of Object.values(node!.paths)) {
      expect(spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim()).to.equal(`Kubernetes v${kubeVersion}`);
    }
  });
});

describe('test world: deb-src entries from the machine\'s apt sources (unit)', function () {
  it('turns deb822 `Types: deb` into deb-src, keeping everything else', function () {
    const sources = [
      'Types: deb',
      'URIs: http://mirror.invalid/debian',
      'Suites: bookworm bookworm-updates',
      'Components: main',
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
      '',
      'Types: deb',
      'URIs: http://mirror.invalid/debian-security',
      'Suites: bookworm-security',
      'Components: main',
      '',
    ].join('\n');
    const result = debSrcFromDeb822(sources);
    expect(result.match(/^Types: deb-src$/gm)).to.have.length(2);
    expect(result).to.not.match(/^Types: deb$/m);
    expect(result).to.contain('Suites: bookworm bookworm-updates');
    expect(result).to.contain('Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg');
  });

  it('drops deb822 paragraphs that are disabled or have no deb type', function () {
    const sources = ['Types: deb', 'Enabled: no', 'URIs: http://a.invalid', '', 'Types: deb-src', 'URIs: http://b.invalid', ''].join('\n');
    expect(debSrcFromDeb822(sources)).to.equal('');
    expect(debSrcFromDeb822('Types: deb deb-src\nURIs: http://c.invalid\nSuites: x\nComponents: main\n')).to.match(/^Types: deb-src$/m);
  });

  it('turns one-line `deb` entries into deb-src and ignores comments and deb-src lines', function () {
    const list = ['# comment', 'deb [signed-by=/k.gpg] http://a.invalid/debian bookworm main', 'deb-src http://b.invalid x main', ''].join('\n');
    expect(debSrcFromOneLine(list)).to.equal('deb-src [signed-by=/k.gpg] http://a.invalid/debian bookworm main\n');
  });
});
