import { z } from 'zod';
import { formatBytes } from '../kube/quantity.js';
import { runAsRoot } from './host-root.js';
import { lvm, readVolumeGroup, reportArgs, reportRows, volumeGroupName, type HostVolumeGroup } from './lvm.js';

/**
 * One claim's volume on one host: a logical volume in the storage cluster's volume group, an
 * ext4 file system on it, mounted at `/var/lib/kubelet/zcloud-volumes/<volume>`. That directory
 * is below the kubelet's, which every kubelet host shares (mount propagation), so a mount made
 * from zcloud's throwaway root container reaches the host and the kubelet.
 *
 * Where the host's kernel has device-mapper, the logical volume is activated as usual
 * (`/dev/<vg>/<lv>`). Where it has none, LVM can still write the volume's metadata but not
 * activate it; the volume is then allocated contiguous (one segment) and its blocks exposed by a
 * loop device over the physical volume at the volume's offset. Both are undone on removal; a
 * host restart drops the loop device and the mount, which `ensureVolume` (run again
 * periodically) puts back.
 */
export const VOLUMES_DIR = '/var/lib/kubelet/zcloud-volumes';
const SHARED_DIRS = ['/var/lib/kubelet'];

export const mountPathOf = (volume: string): string => `${VOLUMES_DIR}/${volume}`;

export type VolumeOutcome = { created: true; size: number; path: string } | { created: false; reason: string };

/**
 * Runs the host's own tool as root. Through the host's /bin/sh: the container's busybox `chroot`
 * would otherwise run its own applet of the same name (losetup, mount, blkdiscard…), which lacks
 * the options used here.
 */
const root = (target: HostVolumeGroup, ...argv: string[]) => runAsRoot(target.docker, ['/bin/sh', '-c', 'exec "$@"', 'sh', ...argv], target.call, SHARED_DIRS);

async function hasDeviceMapper(target: HostVolumeGroup): Promise<boolean> {
  return /^\s*\d+\s+device-mapper$/m.test(await root(target, 'cat', '/proc/devices'));
}

/** lvm's flag for hosts without device-mapper: metadata only, never touch the kernel. */
const noDriver = (deviceMapper: boolean): string[] => (deviceMapper ? [] : ['--driverloaded', 'n']);

interface VolumeLayout {
  size: number;
  /** Where the volume's blocks are on its physical volume (one segment). */
  device: string;
  offset: number;
}

async function layoutOf(target: HostVolumeGroup, volume: string): Promise<VolumeLayout | undefined> {
  const group = volumeGroupName(target.storageCluster);
  const rows = reportRows(await lvm(target, 'lvs', ...reportArgs, '-o', 'lv_name,lv_size,seg_pe_ranges,vg_extent_size', group), 'lv').filter((r) => r.lv_name === volume);
  if (!rows.length) return undefined;
  if (rows.length !== 1) throw new Error(`${target.call.host}: logical volume ${group}/${volume} has ${rows.length} segments; only one can be exposed without device-mapper`);
  const [row] = rows as [Record<string, string>];
  const range = /^(\S+):(\d+)-(\d+)$/.exec(row.seg_pe_ranges ?? '');
  if (!range) throw new Error(`${target.call.host}: cannot read the extents of ${group}/${volume} (${row.seg_pe_ranges})`);
  const pvs = reportRows(await lvm(target, 'pvs', ...reportArgs, '-o', 'pv_name,pe_start'), 'pv');
  const peStart = Number(pvs.find((p) => p.pv_name === range[1])?.pe_start);
  if (!Number.isFinite(peStart)) throw new Error(`${target.call.host}: no physical volume ${range[1]} for ${group}/${volume}`);
  return { size: Number(row.lv_size), device: range[1]!, offset: peStart + Number(range[2]) * Number(row.vg_extent_size) };
}

const LoopList = z.object({ loopdevices: z.array(z.object({ name: z.string(), offset: z.coerce.number(), sizelimit: z.coerce.number() })) });

/**
 * The loop devices exposing `layout` (normally none or one). Found by `--associated` (the kernel's device
 * and inode of the backing device): the backing path the kernel reports is not the host's
 * (`/loop0` for `/dev/loop0` seen from a container), so it cannot be compared.
 */
async function loopsOf(target: HostVolumeGroup, layout: VolumeLayout): Promise<string[]> {
  const output = await root(target, 'losetup', '--list', '--json', '--associated', layout.device, '--output', 'NAME,OFFSET,SIZELIMIT');
  if (!output.includes('{')) return [];
  const list = LoopList.parse(JSON.parse(output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1)));
  return list.loopdevices.filter((l) => l.offset === layout.offset && l.sizelimit === layout.size).map((l) => l.name);
}

/** The block device of the volume, made available (activated, or a loop device set up). */
async function exposeVolume(target: HostVolumeGroup, volume: string, deviceMapper: boolean, layout: VolumeLayout): Promise<string> {
  const group = volumeGroupName(target.storageCluster);
  if (deviceMapper) {
    await lvm(target, 'lvchange', '--activate', 'y', `${group}/${volume}`);
    return `/dev/${group}/${volume}`;
  }
  const [existing] = await loopsOf(target, layout);
  if (existing) return existing;
  return (await root(target, 'losetup', '--find', '--show', '--offset', String(layout.offset), '--sizelimit', String(layout.size), layout.device)).trim();
}

async function isMounted(target: HostVolumeGroup, path: string): Promise<boolean> {
  const output = await root(target, 'sh', '-c', `mountpoint -q '${path}' && echo mounted || echo not`);
  return output.trim() === 'mounted';
}

/**
 * Brings the host to "volume `volume` of `bytes` (rounded up to whole extents) exists, holds
 * ext4 and is mounted at its path", from wherever an earlier attempt stopped. A new volume that
 * does not fit the group's free space is not created: the outcome says why.
 */
export async function ensureVolume(target: HostVolumeGroup, volume: string, bytes: number): Promise<VolumeOutcome> {
  const group = volumeGroupName(target.storageCluster);
  const deviceMapper = await hasDeviceMapper(target);
  let layout = await layoutOf(target, volume);
  if (!layout) {
    const figures = await readVolumeGroup(target);
    if (!figures) return { created: false, reason: `node ${target.call.host} has no volume group ${group}` };
    if (bytes > figures.free) {
      return { created: false, reason: `requested ${formatBytes(bytes)} but volume group ${group} on node ${target.call.host} has only ${formatBytes(figures.free)} free` };
    }
    // Contiguous: one segment, which a loop device can expose when there is no device-mapper.
    await lvm(target, 'lvcreate', ...noDriver(deviceMapper), ...(deviceMapper ? [] : ['--activate', 'n', '--zero', 'n']), '--alloc', 'contiguous', '--yes', '--size', `${bytes}b`, '--name', volume, group);
    layout = (await layoutOf(target, volume))!;
  }
  const device = await exposeVolume(target, volume, deviceMapper, layout);
  const path = mountPathOf(volume);
  if (!(await isMounted(target, path))) {
    const fsType = (await root(target, 'sh', '-c', `blkid -p -o value -s TYPE '${device}' || true`)).trim();
    if (!fsType) await root(target, 'mkfs.ext4', '-q', '-F', device);
    await root(target, 'mkdir', '-p', path);
    await root(target, 'mount', '-t', 'ext4', device, path);
  }
  return { created: true, size: layout.size, path };
}

/**
 * Unmounts, wipes (zeroes) and removes the volume, and its mount directory. Nothing to do for a
 * volume already gone.
 */
export async function removeVolume(target: HostVolumeGroup, volume: string): Promise<void> {
  const group = volumeGroupName(target.storageCluster);
  const path = mountPathOf(volume);
  if (await isMounted(target, path)) await root(target, 'umount', path);
  await root(target, 'rm', '-rf', '--one-file-system', path);
  const layout = await layoutOf(target, volume);
  if (!layout) return;
  const deviceMapper = await hasDeviceMapper(target);
  const device = await exposeVolume(target, volume, deviceMapper, layout);
  // --force: blkdiscard refuses a device holding a file system otherwise, which is the point here.
  await root(target, 'blkdiscard', '--force', '--zeroout', device);
  if (deviceMapper) await lvm(target, 'lvchange', '--activate', 'n', `${group}/${volume}`);
  else for (const loop of await loopsOf(target, layout)) await root(target, 'losetup', '--detach', loop);
  await lvm(target, 'lvremove', ...noDriver(deviceMapper), '--yes', `${group}/${volume}`);
}
