import type Docker from 'dockerode';
import { z } from 'zod';
import type { DockerCallOptions } from '../provisioning/containers.js';
import { discoverBlockDevices } from './discovery.js';
import { runAsRoot } from './host-root.js';

/**
 * The LVM side of an lvm storage cluster on one host: one volume group per storage cluster,
 * named `zcloud-<storagecluster>` and tagged `zcloud-storagecluster=<storagecluster>`, on the
 * devices the storage cluster recorded for the host. Every lvm command is limited to those
 * devices (`--devices`), so LVM never scans, let alone touches, any other device of the host.
 */
export interface HostVolumeGroup {
  docker: Docker;
  call: DockerCallOptions;
  storageCluster: string;
  devices: readonly string[];
}

export interface VolumeGroupFigures {
  name: string;
  /** Bytes. */
  size: number;
  free: number;
  /** The logical volumes in it: the storage cluster's volumes. */
  volumes: Array<{ name: string; size: number }>;
}

export const volumeGroupName = (storageCluster: string): string => `zcloud-${storageCluster}`;
export const volumeGroupTag = (storageCluster: string): string => `zcloud-storagecluster=${storageCluster}`;

const Report = z.object({ report: z.array(z.record(z.string(), z.array(z.record(z.string(), z.string())))) });

/** lvm's JSON report rows; warnings lvm prints around the JSON (the output mixes stderr in) are skipped. */
export function reportRows(output: string, kind: 'pv' | 'vg' | 'lv'): Array<Record<string, string>> {
  const json = output.slice(output.indexOf('{'), output.lastIndexOf('}') + 1);
  return Report.parse(JSON.parse(json)).report.flatMap((r) => r[kind] ?? []);
}

export function lvm(target: HostVolumeGroup, command: string, ...args: string[]): Promise<string> {
  return runAsRoot(target.docker, ['lvm', command, '--devices', target.devices.join(','), ...args], target.call);
}

export const reportArgs = ['--reportformat', 'json', '--units', 'b', '--nosuffix'];

/** Which volume group each of the devices that is a physical volume belongs to ('' for none). */
async function physicalVolumes(target: HostVolumeGroup): Promise<Map<string, string>> {
  const rows = reportRows(await lvm(target, 'pvs', ...reportArgs, '-o', 'pv_name,vg_name'), 'pv');
  return new Map(rows.map((r) => [r.pv_name!, r.vg_name ?? '']));
}

/** The storage cluster's volume group on the host with its figures, or undefined when it has none. */
export async function readVolumeGroup(target: HostVolumeGroup): Promise<VolumeGroupFigures | undefined> {
  const name = volumeGroupName(target.storageCluster);
  const groups = reportRows(await lvm(target, 'vgs', ...reportArgs, '-o', 'vg_name,vg_size,vg_free,vg_tags'), 'vg');
  const group = groups.find((g) => g.vg_name === name);
  if (!group) return undefined;
  if (!(group.vg_tags ?? '').split(',').includes(volumeGroupTag(target.storageCluster))) {
    throw new Error(`${target.call.host}: volume group ${name} exists but zcloud did not create it (no tag ${volumeGroupTag(target.storageCluster)})`);
  }
  const volumes = reportRows(await lvm(target, 'lvs', ...reportArgs, '-o', 'lv_name,lv_size,vg_name', name), 'lv').map((lv) => ({ name: lv.lv_name!, size: Number(lv.lv_size) }));
  return { name, size: Number(group.vg_size), free: Number(group.vg_free), volumes };
}

/**
 * Brings the host to "the volume group exists on exactly these devices", from wherever an
 * earlier attempt stopped: devices already made physical volumes (by us, before a crash) are
 * reused, a missing group is created, missing devices are added. Before writing anything, every
 * device that is not yet ours is checked live: mounted, partitioned or holding data refuses the
 * whole host, naming each such device.
 */
export async function ensureVolumeGroup(target: HostVolumeGroup): Promise<VolumeGroupFigures> {
  const name = volumeGroupName(target.storageCluster);
  const pvs = await physicalVolumes(target);
  const foreign = target.devices.filter((d) => pvs.has(d) && pvs.get(d) !== '' && pvs.get(d) !== name);
  if (foreign.length) throw new Error(`${target.call.host}: ${foreign.map((d) => `${d} belongs to volume group ${pvs.get(d)}`).join('; ')}`);
  const fresh = target.devices.filter((d) => !pvs.has(d));
  if (fresh.length) {
    const found = new Map((await discoverBlockDevices(target.docker, target.call)).map((d) => [d.name, d]));
    const refused = fresh.flatMap((d) => {
      const device = found.get(d);
      if (!device) return [`${d} is not a block device of the host`];
      return device.usable ? [] : [`${d} ${device.reason}`];
    });
    if (refused.length) throw new Error(`${target.call.host}: refusing ${refused.join('; ')}`);
    await lvm(target, 'pvcreate', '--yes', ...fresh);
  }
  const existing = await readVolumeGroup(target);
  if (!existing) {
    await lvm(target, 'vgcreate', '--addtag', volumeGroupTag(target.storageCluster), name, ...target.devices);
  } else {
    const missing = target.devices.filter((d) => pvs.get(d) !== name);
    if (missing.length) await lvm(target, 'vgextend', name, ...missing);
  }
  return (await readVolumeGroup(target))!;
}

/**
 * Removes the storage cluster's volume group (only one carrying its tag) and wipes the
 * physical-volume labels of its devices. Refuses while the group still holds logical volumes.
 * Nothing to do when the group is already gone.
 */
export async function removeVolumeGroup(target: HostVolumeGroup): Promise<void> {
  const group = await readVolumeGroup(target);
  if (group && group.volumes.length) {
    throw new Error(`${target.call.host}: volume group ${group.name} still holds volumes ${group.volumes.map((v) => v.name).join(', ')}`);
  }
  if (group) await lvm(target, 'vgremove', '--yes', group.name);
  const pvs = await physicalVolumes(target);
  const orphans = target.devices.filter((d) => pvs.get(d) === '');
  if (orphans.length) await lvm(target, 'pvremove', '--yes', ...orphans);
}
