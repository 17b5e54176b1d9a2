import type Docker from 'dockerode';
import { z } from 'zod';
import type { DockerCallOptions } from '../provisioning/containers.js';
import { runAsRoot } from './host-root.js';

/** One block device of a host as discovery found it; `size` in bytes. */
export interface DiscoveredDevice {
  name: string;
  size: number;
  usable: boolean;
  /** Why the device cannot serve a storage cluster; '' when usable. */
  reason: string;
}

export interface LsblkDevice {
  path: string;
  size: number;
  type: string;
  mountpoint: string | null;
  ro: boolean;
  children?: LsblkDevice[];
}

const LsblkDeviceSchema: z.ZodType<LsblkDevice> = z.lazy(() =>
  z.object({
    path: z.string(),
    size: z.coerce.number(),
    type: z.string(),
    mountpoint: z.string().nullable(),
    ro: z.union([z.boolean(), z.string().transform((v) => v === '1')]),
    children: z.array(LsblkDeviceSchema).optional(),
  }),
);
const LsblkSchema = z.object({ blockdevices: z.array(LsblkDeviceSchema) });

/** Whole devices a storage cluster could take; partitions, ROMs and the like are never offered. */
const WHOLE_DEVICE_TYPES = new Set(['disk', 'loop']);

export const LSBLK_COMMAND = ['lsblk', '--json', '--bytes', '--output', 'PATH,SIZE,TYPE,MOUNTPOINT,RO'];

/**
 * What `blkid -p -o export` found on each device, by device path: `TYPE` (a file system, swap,
 * LVM2_member...) or `PTTYPE` (a partition table). Read from the device itself, so it is right
 * even on hosts without udev, where lsblk leaves FSTYPE empty.
 */
export function parseBlkidExport(text: string): Map<string, Record<string, string>> {
  const found = new Map<string, Record<string, string>>();
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const fields: Record<string, string> = {};
    for (const line of block.split(/\r?\n/)) {
      const at = line.indexOf('=');
      if (at > 0) fields[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
    if (fields.DEVNAME) found.set(fields.DEVNAME, fields);
  }
  return found;
}

function mountpointsOf(device: LsblkDevice): string[] {
  return [device.mountpoint, ...(device.children ?? []).flatMap(mountpointsOf)].filter((m): m is string => !!m);
}

/** Why `device` cannot be given to a storage cluster, or '' when it can. */
export function unusableReason(device: LsblkDevice, signature: Record<string, string> | undefined): string {
  const mounts = mountpointsOf(device);
  if (mounts.length > 0) return `mounted at ${mounts.join(', ')}`;
  if (device.ro) return 'read-only';
  if (device.children?.length) return `has partitions or volumes (${device.children.map((c) => c.path).join(', ')})`;
  if (signature?.PTTYPE) return `has a ${signature.PTTYPE} partition table`;
  if (signature?.TYPE === 'LVM2_member') return 'is an LVM physical volume';
  if (signature?.TYPE) return `holds data (${signature.TYPE})`;
  return '';
}

/** The whole, non-empty devices of lsblk's JSON answer. */
export function wholeDevices(lsblkJson: string): LsblkDevice[] {
  return LsblkSchema.parse(JSON.parse(lsblkJson)).blockdevices.filter((d) => WHOLE_DEVICE_TYPES.has(d.type) && d.size > 0);
}

/** The devices (sorted by path), each usable or not by what blkid found on it. */
export function classifyDevices(devices: readonly LsblkDevice[], blkid: Map<string, Record<string, string>>): DiscoveredDevice[] {
  return devices
    .map((d) => {
      const reason = unusableReason(d, blkid.get(d.path));
      return { name: d.path, size: d.size, usable: reason === '', reason };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Looks at the host's block devices, as root: lsblk for the tree (sizes, partitions, mounts),
 * then blkid on each whole device for what it holds. blkid exits 2 when a device holds nothing,
 * which is the good case: the shell loop keeps that from failing the call.
 */
export async function discoverBlockDevices(docker: Docker, options: DockerCallOptions): Promise<DiscoveredDevice[]> {
  const devices = wholeDevices(await runAsRoot(docker, LSBLK_COMMAND, options));
  const paths = devices.map((d) => d.path);
  // One blkid per device: given several, blkid stops at the first that holds nothing (exit 2).
  const script = 'for d; do blkid -p -o export "$d"; [ $? -le 2 ] || exit 1; echo; done';
  const blkid = paths.length ? await runAsRoot(docker, ['sh', '-c', script, 'blkid', ...paths], options) : '';
  return classifyDevices(devices, parseBlkidExport(blkid));
}
