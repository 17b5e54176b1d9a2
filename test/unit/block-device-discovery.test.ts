import { expect } from 'chai';
import { formatBytes } from '../../src/kube/quantity.js';
import { classifyDevices, parseBlkidExport, wholeDevices } from '../../src/storage/discovery.js';

/** What lsblk and blkid print on a host (as a TTY gives them: CRLF), classified as discovery does. */
describe('block device discovery: classification', () => {
  const lsblk = JSON.stringify({
    blockdevices: [
      { path: '/dev/sda', size: 107374182400, type: 'disk', mountpoint: null, ro: false, children: [{ path: '/dev/sda1', size: 107373133824, type: 'part', mountpoint: '/', ro: false }] },
      { path: '/dev/sdb', size: 53687091200, type: 'disk', mountpoint: null, ro: false },
      { path: '/dev/sdc', size: 53687091200, type: 'disk', mountpoint: null, ro: false },
      { path: '/dev/sdd', size: 53687091200, type: 'disk', mountpoint: null, ro: false },
      { path: '/dev/sde', size: 53687091200, type: 'disk', mountpoint: null, ro: false },
      { path: '/dev/loop0', size: 67108864, type: 'loop', mountpoint: '/mnt/data', ro: false },
      { path: '/dev/loop1', size: 0, type: 'loop', mountpoint: null, ro: false },
      { path: '/dev/sr0', size: 1073741824, type: 'rom', mountpoint: null, ro: '1' },
    ],
  });
  const blkid = ['DEVNAME=/dev/sdc', 'TYPE=ext4', 'USAGE=filesystem', '', 'DEVNAME=/dev/sdd', 'PTTYPE=gpt', '', 'DEVNAME=/dev/sde', 'TYPE=LVM2_member', ''].join('\r\n');

  it('offers whole, non-empty disks and loop devices, each usable or not with the reason', () => {
    expect(classifyDevices(wholeDevices(lsblk), parseBlkidExport(blkid))).to.deep.equal([
      { name: '/dev/loop0', size: 67108864, usable: false, reason: 'mounted at /mnt/data' },
      { name: '/dev/sda', size: 107374182400, usable: false, reason: 'mounted at /' },
      { name: '/dev/sdb', size: 53687091200, usable: true, reason: '' },
      { name: '/dev/sdc', size: 53687091200, usable: false, reason: 'holds data (ext4)' },
      { name: '/dev/sdd', size: 53687091200, usable: false, reason: 'has a gpt partition table' },
      { name: '/dev/sde', size: 53687091200, usable: false, reason: 'is an LVM physical volume' },
    ]);
  });

  it('names partitions that hold nothing mounted', () => {
    const partitioned = JSON.stringify({ blockdevices: [{ path: '/dev/vdb', size: 1024, type: 'disk', mountpoint: null, ro: false, children: [{ path: '/dev/vdb1', size: 512, type: 'part', mountpoint: null, ro: false }] }] });
    expect(classifyDevices(wholeDevices(partitioned), new Map())[0]!.reason).to.equal('has partitions or volumes (/dev/vdb1)');
  });

  it('writes sizes as the shortest exact binary quantity', () => {
    expect([67108864, 53687091200, 1536, 0, 62914560].map(formatBytes)).to.deep.equal(['64Mi', '50Gi', '1536', '0', '60Mi']);
  });
});
