import { CoreV1Api, KubeConfig, StorageV1Api, type V1PersistentVolume } from '@kubernetes/client-node';
import { expect } from 'chai';
import { exec, run } from '../../scripts/testenv/command.js';
import { destroyHosts, signalHostSetOnExit, upHosts, type HostSetInfo } from '../../scripts/testenv/hosts/host-set.js';
import { hostSetLayout } from '../../scripts/testenv/hosts/layout.js';
import { parseQuantity } from '../../src/kube/quantity.js';
import { imageReference } from '../../src/provisioning/images.js';
import { LoopDevices } from '../helpers/loop-devices.js';
import { eventually } from '../helpers/world.js';
import { API, sha1, tempDir } from '../helpers/zcloud.js';
import { killStartedProcesses, startZcloudProcess, type ZcloudProcess } from '../helpers/zcloud-process.js';

const setName = 'st-lvm';
signalHostSetOnExit(setName);

interface VolumeGroupRow {
  vg_name: string;
  vg_tags: string;
  pv_count: string;
  vg_size: string;
}

/**
 * Storage on a provisioned 2-host cluster, against real LVM on loop devices: block devices
 * discovered over SSH, an lvm storagecluster that builds a volume group per host (resuming after
 * kill -9), refuses what it must, and is removed only without volumes. LVM is checked from this
 * machine, limited to each host's own devices (the hosts share the machine's /dev).
 */
describe('storage: lvm storageclusters on provisioned hosts (real hosts, real LVM)', function () {
  this.timeout(900_000);
  let set: HostSetInfo;
  let zcloud: ZcloudProcess | undefined;
  let token: string;
  const loops = new LoopDevices(setName);
  const dataDir = tempDir();
  /** Each host's loop devices: [0], [1] free; [2] mounted (host 0) or holding ext4 (host 1). */
  const disks: Record<string, string[]> = {};
  const hostName = (i: number) => set.hosts.nodes[i]!.name;
  const mountDir = (node: string) => `${hostSetLayout(setName).host(node).dir}/mnt-data`;

  async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${zcloud!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function startZcloud(): Promise<void> {
    zcloud = await startZcloudProcess({ env: { ZCLOUD_DATA_DIR: dataDir, ZCLOUD_STORAGE_REFRESH_INTERVAL: '5s' } });
    const login = await fetch(`${zcloud.url}${API}/users/admin?action=login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: sha1('zcloud') }) });
    token = ((await login.json()) as { token: string }).token;
  }

  /** LVM's view of one host's free disks, from this machine. */
  async function volumeGroups(node: string): Promise<VolumeGroupRow[]> {
    const { stdout } = await exec('lvm', ['vgs', '--devices', disks[node]!.slice(0, 2).join(','), '--reportformat', 'json', '--units', 'b', '--nosuffix', '-o', 'vg_name,vg_tags,pv_count,vg_size']);
    return (JSON.parse(stdout) as { report: Array<{ vg: VolumeGroupRow[] }> }).report[0]!.vg;
  }
  async function physicalVolumes(node: string): Promise<string[]> {
    const { stdout } = await exec('lvm', ['pvs', '--devices', disks[node]!.slice(0, 2).join(','), '--reportformat', 'json', '-o', 'pv_name']);
    return (JSON.parse(stdout) as { report: Array<{ pv: Array<{ pv_name: string }> }> }).report[0]!.pv.map((p) => p.pv_name);
  }
  const sc = (name: string) => `${API}/clusters/st/storageclusters/${name}`;

  /** The logical volumes of zcloud-lvm as the host's own lvm sees them, run as root in a container through the host's Docker. */
  async function logicalVolumesOn(node: string): Promise<string[]> {
    const socket = hostSetLayout(setName).host(node).dockerSocketOutside;
    const lvmArgs = ['lvm', 'lvs', '--devices', disks[node]!.slice(0, 2).join(','), '--reportformat', 'json', '-o', 'lv_name', 'zcloud-lvm'];
    const { stdout } = await exec('docker', ['-H', `unix://${socket}`, 'run', '--rm', '--privileged', '-v', '/:/host', imageReference('base'), 'chroot', '/host', ...lvmArgs]);
    const json = stdout.slice(stdout.indexOf('{'), stdout.lastIndexOf('}') + 1);
    return (JSON.parse(json) as { report: Array<{ lv: Array<{ lv_name: string }> }> }).report[0]!.lv.map((l) => l.lv_name);
  }

  /** Loop devices over a part of the node's disks (how a volume is exposed without device-mapper). */
  async function volumeLoops(node: string): Promise<string[]> {
    const loops: string[] = [];
    for (const disk of disks[node]!.slice(0, 2)) {
      const { stdout } = await exec('losetup', ['--list', '--noheadings', '--output', 'NAME,OFFSET', '--associated', disk]);
      loops.push(...stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, offset]) => offset && offset !== '0').map(([name]) => name!));
    }
    return loops;
  }

  async function kube(): Promise<{ core: CoreV1Api; storage: StorageV1Api }> {
    const kubeconfig = await call('POST', `${API}/clusters/st?action=getkubeconfig`);
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfig.body.config);
    return { core: kc.makeApiClient(CoreV1Api), storage: kc.makeApiClient(StorageV1Api) };
  }

  async function claimWithPod(core: CoreV1Api, name: string, size: string): Promise<void> {
    await core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: { metadata: { name }, spec: { storageClassName: 'zcloud-lvm', accessModes: ['ReadWriteOnce'], resources: { requests: { storage: size } } } },
    });
    await core.createNamespacedPod({
      namespace: 'default',
      body: {
        metadata: { name },
        spec: {
          hostNetwork: true,
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'writer', image: imageReference('base'), imagePullPolicy: 'Never', command: ['sh', '-c', 'echo written-by-pod > /data/hello && sleep 3600'], volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: name } }],
        },
      },
    });
  }

  before(async () => {
    await destroyHosts(setName);
    set = await upHosts(setName, { count: 2 });
    await loops.detachAll([hostName(0), hostName(1)]);
    for (const i of [0, 1]) disks[hostName(i)] = await loops.attach(hostName(i), 3, 64);
    for (const i of [0, 1]) await run('mkfs.ext4', ['-q', '-F', disks[hostName(i)]![2]!]);
    // Mounted inside host 0 only (its own mount namespace), as a host's data disk would be.
    await run('mkdir', ['-p', mountDir(hostName(0))]);
    await run('nsenter', [`--mount=${hostSetLayout(setName).host(hostName(0)).mountNamespacePath}`, '--', 'mount', disks[hostName(0)]![2]!, mountDir(hostName(0))]);
    await startZcloud();
    const created = await call('POST', `${API}/clusters`, {
      name: 'st',
      nodes: [
        { name: hostName(0), address: set.hosts.nodes[0]!.address, roles: ['controlplane', 'etcd', 'worker'] },
        { name: hostName(1), address: set.hosts.nodes[1]!.address, roles: ['worker'] },
      ],
      sshUser: set.hosts.sshUser,
      sshKey: set.hosts.sshKey,
    });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    await eventually(async () => expect((await call('GET', `${API}/clusters/st`)).body.status).to.equal('Running'), { within: 400_000, interval: 2_000 });
  });

  afterEach(function () {
    // zcloud's warnings say why a storage cluster did not get where the test expected.
    if (this.currentTest?.state === 'failed' && zcloud) console.log(zcloud.stdout().split('\n').filter((l) => /"level":"(warn|error)"/.test(l)).slice(-15).join('\n'));
  });

  after(async function () {
    this.timeout(180_000);
    try {
      await zcloud?.stop();
      await killStartedProcesses();
    } finally {
      try {
        await destroyHosts(setName);
      } finally {
        if (set) await loops.detachAll([hostName(0), hostName(1)]);
      }
    }
  });

  it('discovers each host\'s block devices over SSH: the loop devices with their sizes, a mounted one and one holding ext4 unusable; again on demand', async () => {
    await eventually(
      async () => {
        const list = await call('GET', `${API}/clusters/st/blockdevices`);
        expect(list.status).to.equal(200);
        const devicesOf = (i: number) => list.body.data.find((n: { nodeName: string }) => n.nodeName === hostName(i))?.blockDevices ?? [];
        for (const i of [0, 1]) {
          const [free0, free1] = disks[hostName(i)]!;
          expect(devicesOf(i)).to.deep.include({ name: free0, size: '64Mi', usable: true, reason: '', usedBy: '' });
          expect(devicesOf(i)).to.deep.include({ name: free1, size: '64Mi', usable: true, reason: '', usedBy: '' });
        }
        const mounted = devicesOf(0).find((d: { name: string }) => d.name === disks[hostName(0)]![2]);
        expect(mounted).to.deep.include({ size: '64Mi', usable: false, reason: `mounted at ${mountDir(hostName(0))}` });
        const formatted = devicesOf(1).find((d: { name: string }) => d.name === disks[hostName(1)]![2]);
        expect(formatted).to.deep.include({ size: '64Mi', usable: false, reason: 'holds data (ext4)' });
      },
      { within: 120_000, interval: 2_000 },
    );
    // A disk added later shows up when discovery is asked for (admin), not only at the next scan.
    const [added] = await loops.attach(hostName(1), 1, 32);
    const unknown = await call('POST', `${API}/clusters/st/blockdevices/no-such-node?action=discover`);
    expect(unknown.status).to.equal(404);
    const asked = await call('POST', `${API}/clusters/st/blockdevices/${hostName(1)}?action=discover`);
    expect(asked.status, JSON.stringify(asked.body)).to.equal(200);
    await eventually(
      async () => {
        const list = await call('GET', `${API}/clusters/st/blockdevices`);
        const devices = list.body.data.find((n: { nodeName: string }) => n.nodeName === hostName(1)).blockDevices;
        expect(devices).to.deep.include({ name: added, size: '32Mi', usable: true, reason: '', usedBy: '' });
      },
      { within: 30_000, interval: 1_000 },
    );
    // The request went through the node (any replica may take it); the discovery marked it served.
    const { core } = await kube();
    await eventually(async () => {
      const annotations = (await core.readNode({ name: hostName(1) })).metadata?.annotations ?? {};
      expect(annotations['storage.zcloud.cn/blockdevices-requested']).to.be.a('string');
      expect(annotations['storage.zcloud.cn/blockdevices-requested-served']).to.equal(annotations['storage.zcloud.cn/blockdevices-requested']);
    }, { within: 30_000, interval: 1_000 });
  });

  it('refuses ceph, a mounted device and an unknown device (422) before touching any host', async () => {
    const hosts = [hostName(0), hostName(1)];
    const ceph = await call('POST', `${API}/clusters/st/storageclusters`, { name: 'ceph', storagetype: 'ceph', hosts });
    expect(ceph.status).to.equal(422);
    expect(ceph.body.message).to.equal('storagetype: ceph is not supported on clusters zcloud provisions (lvm is)');
    const mounted = await call('POST', `${API}/clusters/st/storageclusters`, { name: 'lvm', storagetype: 'lvm', hosts, devices: { [hostName(0)]: [disks[hostName(0)]![2]] } });
    expect(mounted.status).to.equal(422);
    expect(mounted.body.message).to.equal(`devices.${hostName(0)}.0: ${disks[hostName(0)]![2]} of ${hostName(0)} cannot be used: mounted at ${mountDir(hostName(0))}`);
    const unknown = await call('POST', `${API}/clusters/st/storageclusters`, { name: 'lvm', storagetype: 'lvm', hosts, devices: { [hostName(1)]: ['/dev/no-such-disk'] } });
    expect(unknown.status).to.equal(422);
    expect(unknown.body.message).to.equal(`devices.${hostName(1)}.0: /dev/no-such-disk is not a block device of ${hostName(1)}`);
    expect((await call('GET', `${API}/clusters/st/storageclusters`)).body.data).to.deep.equal([]);
    for (const host of hosts) expect(await physicalVolumes(host)).to.deep.equal([]);
  });

  it('builds a tagged volume group per host; killed with -9 during the preparation it resumes without creating anything twice; sizes add up', async () => {
    const hosts = [hostName(0), hostName(1)];
    const devices = Object.fromEntries(hosts.map((h) => [h, disks[h]!.slice(0, 2)]));
    const created = await call('POST', `${API}/clusters/st/storageclusters`, { name: 'lvm', storagetype: 'lvm', hosts, devices });
    expect(created.status, JSON.stringify(created.body)).to.equal(201);
    // Killed as soon as the first physical volume exists on host 0: preparation half done.
    await eventually(async () => expect(await physicalVolumes(hostName(0))).to.not.deep.equal([]), { within: 120_000, interval: 100 });
    await zcloud!.kill9();

    await startZcloud();
    const running = await eventually(
      async () => {
        const got = await call('GET', sc('lvm'));
        expect(got.body.phase, JSON.stringify(got.body)).to.equal('Running');
        return got.body;
      },
      { within: 180_000, interval: 1_000 },
    );
    let total = 0;
    for (const host of hosts) {
      const groups = await volumeGroups(host);
      expect(groups.map((g) => ({ name: g.vg_name, tags: g.vg_tags, pvs: g.pv_count }))).to.deep.equal([{ name: 'zcloud-lvm', tags: 'zcloud-storagecluster=lvm', pvs: '2' }]);
      expect(await physicalVolumes(host)).to.have.members(devices[host]!);
      const node = running.nodes.find((n: { name: string }) => n.name === host);
      expect(parseQuantity(node.size)).to.equal(Number(groups[0]!.vg_size));
      expect(node).to.deep.include({ usedSize: '0', freeSize: node.size, stat: true });
      total += Number(groups[0]!.vg_size);
    }
    expect(parseQuantity(running.size)).to.equal(total);
    expect(parseQuantity(running.freeSize)).to.equal(total);
    expect(running.config.map((c: { nodeName: string; blockDevices: Array<{ name: string; size: string }> }) => [c.nodeName, c.blockDevices])).to.deep.equal(
      hosts.map((h) => [h, devices[h]!.map((name) => ({ name, size: '64Mi' }))]),
    );
    const listed = (await call('GET', `${API}/clusters/st/blockdevices`)).body.data.find((n: { nodeName: string }) => n.nodeName === hostName(1));
    expect(listed.blockDevices.find((d: { name: string }) => d.name === devices[hostName(1)]![0]).usedBy).to.equal('lvm');
  });

  it('provisions a claim of zcloud-lvm on the node the scheduler picked (LV, ext4, bound local PV, the pod runs); a too-large claim stays Pending with an event; deleting the claim removes LV and PV', async () => {
    const { core, storage } = await kube();
    const storageClass = await eventually(async () => storage.readStorageClass({ name: 'zcloud-lvm' }), { within: 30_000, interval: 1_000 });
    expect([storageClass.provisioner, storageClass.volumeBindingMode, storageClass.reclaimPolicy]).to.deep.equal(['storage.zcloud.cn/lvm', 'WaitForFirstConsumer', 'Delete']);

    await claimWithPod(core, 'data', '16Mi');
    const { pv, node } = await eventually(
      async () => {
        const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'data' });
        expect(claim.status?.phase).to.equal('Bound');
        const selected = claim.metadata?.annotations?.['volume.kubernetes.io/selected-node'];
        expect(selected).to.be.a('string');
        const volume: V1PersistentVolume = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
        return { pv: volume, node: selected! };
      },
      { within: 180_000, interval: 1_000 },
    );
    const pvName = pv.metadata!.name!;
    expect(pv.spec?.claimRef).to.deep.include({ namespace: 'default', name: 'data' });
    expect(pv.spec?.local?.path).to.equal(`/var/lib/kubelet/zcloud-volumes/${pvName}`);
    expect(pv.spec?.persistentVolumeReclaimPolicy).to.equal('Delete');
    expect(parseQuantity(pv.spec!.capacity!.storage as string)).to.equal(16 * 2 ** 20);
    expect(pv.spec?.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions).to.deep.equal([{ key: 'kubernetes.io/hostname', operator: 'In', values: [node] }]);
    expect(await logicalVolumesOn(node)).to.deep.equal([pvName]);
    // The pod runs on that node and what it wrote is on the volume's ext4, mounted on the host.
    await eventually(async () => expect((await core.readNamespacedPod({ namespace: 'default', name: 'data' })).status?.phase).to.equal('Running'), { within: 180_000, interval: 1_000 });
    const mountNs = `--mount=${hostSetLayout(setName).host(node).mountNamespacePath}`;
    await eventually(async () => expect((await exec('nsenter', [mountNs, '--', 'cat', `${pv.spec!.local!.path}/hello`])).stdout.trim()).to.equal('written-by-pod'), { within: 30_000, interval: 1_000 });
    expect((await exec('nsenter', [mountNs, '--', 'findmnt', '-n', '-o', 'FSTYPE', pv.spec!.local!.path])).stdout.trim()).to.equal('ext4');
    // This kernel has no device-mapper: one loop device exposes the volume, however often it was reconciled.
    expect(await volumeLoops(node)).to.have.length(1);

    // 1Gi does not fit the ~120Mi group: Pending, with the reason as an event on the claim.
    await claimWithPod(core, 'too-big', '1Gi');
    await eventually(
      async () => {
        const events = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=too-big,reason=ProvisioningFailed' });
        expect(events.items.map((e) => e.message).join('\n')).to.match(/^requested 1Gi but volume group zcloud-lvm on node \S+ has only \S+ free$/m);
      },
      { within: 180_000, interval: 1_000 },
    );
    expect((await core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: 'too-big' })).status?.phase).to.equal('Pending');

    for (const name of ['data', 'too-big']) {
      await core.deleteNamespacedPod({ namespace: 'default', name, gracePeriodSeconds: 0 });
      await core.deleteNamespacedPersistentVolumeClaim({ namespace: 'default', name });
    }
    await eventually(
      async () => {
        const volumes = await core.listPersistentVolume();
        expect(volumes.items.map((v) => v.metadata?.name)).to.not.include(pvName);
      },
      { within: 180_000, interval: 1_000 },
    );
    expect(await logicalVolumesOn(node)).to.deep.equal([]);
    expect(await volumeLoops(node)).to.deep.equal([]);
    expect((await exec('nsenter', [mountNs, '--', 'sh', '-c', `ls ${pv.spec!.local!.path} 2>&1 || true`])).stdout).to.match(/No such file/);
  });

  it('taking a host out of the storage cluster (PUT) removes its volume group, and only that one', async () => {
    const updated = await call('PUT', sc('lvm'), { hosts: [hostName(0)] });
    expect(updated.status, JSON.stringify(updated.body)).to.equal(200);
    await eventually(
      async () => {
        const got = (await call('GET', sc('lvm'))).body;
        expect(got.config.map((c: { nodeName: string }) => c.nodeName)).to.deep.equal([hostName(0)]);
        expect(got.nodes.map((n: { name: string }) => n.name)).to.deep.equal([hostName(0)]);
      },
      { within: 60_000, interval: 1_000 },
    );
    expect(await volumeGroups(hostName(1))).to.deep.equal([]);
    expect(await physicalVolumes(hostName(1))).to.deep.equal([]);
    expect((await volumeGroups(hostName(0))).map((g) => g.pv_count)).to.deep.equal(['2']);
  });

  it('refuses deletion while a volume exists (422); without volumes removes its volume groups and labels, and the zcloud-lvm StorageClass', async () => {
    const host = hostName(0);
    const only = ['--devices', disks[host]!.slice(0, 2).join(',')];
    // A logical volume made by hand (metadata only: this kernel has no device-mapper to activate it).
    await run('lvm', ['lvcreate', ...only, '--driverloaded', 'n', '-an', '-Zn', '-L', '8M', '-n', 'vol1', 'zcloud-lvm']);
    await eventually(async () => expect((await call('GET', sc('lvm'))).body.pvs.map((p: { name: string; node: string }) => [p.name, p.node])).to.deep.equal([['vol1', host]]), { within: 60_000, interval: 1_000 });
    const refused = await call('DELETE', sc('lvm'));
    expect(refused.status).to.equal(422);
    expect(refused.body.message).to.equal(`storagecluster lvm still holds volumes: vol1 on ${host}; delete them first`);
    expect(await volumeGroups(host)).to.have.length(1);

    await run('lvm', ['lvremove', ...only, '--driverloaded', 'n', '-y', 'zcloud-lvm/vol1']);
    await eventually(async () => expect((await call('GET', sc('lvm'))).body.pvs).to.deep.equal([]), { within: 60_000, interval: 1_000 });
    const removed = await call('DELETE', sc('lvm'));
    expect(removed.status, JSON.stringify(removed.body)).to.equal(204);
    await eventually(async () => expect((await call('GET', sc('lvm'))).status).to.equal(404), { within: 120_000, interval: 1_000 });
    const { storage } = await kube();
    expect((await storage.listStorageClass()).items.map((c) => c.metadata?.name)).to.not.include('zcloud-lvm');
    for (const h of [hostName(0), hostName(1)]) {
      expect(await volumeGroups(h)).to.deep.equal([]);
      expect(await physicalVolumes(h)).to.deep.equal([]);
    }
    // The mounted disk and the ext4 one were never touched.
    const { stdout } = await exec('blkid', ['-p', '-o', 'value', '-s', 'TYPE', disks[hostName(1)]![2]!]);
    expect(stdout.trim()).to.equal('ext4');
  });
});
