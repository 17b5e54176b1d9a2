import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { exec, run } from '../../scripts/testenv/command.js';
import { hostSetLayout } from '../../scripts/testenv/hosts/layout.js';

/**
 * Block devices for a test host: loop devices over sparse files under the host's own directory.
 * The machine's /dev is shared by every host (and every helper's tests), so each test names the
 * devices it made and never touches others. `detachAll` detaches every device made here, also
 * ones left by an earlier run of the same set that was killed (found by their backing files).
 */
export class LoopDevices {
  readonly #attached: string[] = [];

  constructor(private readonly setName: string) {}

  private dir(node: string): string {
    return join(hostSetLayout(this.setName).host(node).dir, 'disks');
  }

  /** Attaches `count` devices of `sizeMiB` each for `node`; returns their paths (/dev/loopN). */
  async attach(node: string, count: number, sizeMiB: number): Promise<string[]> {
    const dir = this.dir(node);
    mkdirSync(dir, { recursive: true });
    const devices: string[] = [];
    const first = readdirSync(dir).length;
    for (let i = first; i < first + count; i++) {
      const file = join(dir, `disk-${i}.img`);
      await run('truncate', ['-s', `${sizeMiB}M`, file]);
      const { stdout } = await exec('losetup', ['--find', '--show', file]);
      const device = stdout.trim();
      this.#attached.push(device);
      devices.push(device);
    }
    return devices;
  }

  /** Detaches every device over a file of `nodes` (this run's and stale ones), then removes the files. */
  async detachAll(nodes: readonly string[]): Promise<void> {
    for (const node of nodes) {
      const dir = this.dir(node);
      const { stdout } = await exec('losetup', ['--list', '--noheadings', '--output', 'NAME,BACK-FILE']);
      for (const line of stdout.split('\n')) {
        const [device, file] = line.trim().split(/\s+/);
        if (device && file?.startsWith(`${dir}/`)) await exec('losetup', ['--detach', device]);
      }
      rmSync(dir, { recursive: true, force: true });
    }
    this.#attached.length = 0;
  }
}
