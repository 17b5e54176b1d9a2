import { expect } from 'chai';
import { z } from 'zod';
import { checkPersistentVolumeReferences, containersSchema, PersistentVolumeSchema } from '../../api/resources/shared/pod-template-input.js';
import { containersToApi, podTemplateToKube, sourceVolumeName, type ContainerInput } from '../../src/workloads/pod-template.js';
import { claimsOf, claimTemplatesOf, claimVolumeFor, persistentVolumesToApi } from '../../src/workloads/storage.js';

const lower = containersSchema({ protocols: ['tcp', 'udp'], protocolRequired: false, volumeTypes: ['configmap', 'secret', 'persistentVolume'] });
const upperRequired = containersSchema({ protocols: ['TCP', 'UDP'], protocolRequired: true, volumeTypes: ['configmap', 'secret'] });

function firstIssue(schema: z.ZodType, input: unknown): string {
  const result = schema.safeParse(input);
  if (result.success) return 'ok';
  const issue = result.error.issues[0];
  return `${issue.path.join('.')}: ${issue.message}`;
}

const container: ContainerInput = {
  name: 'web',
  image: 'nginx:1.19',
  command: ['nginx'],
  args: ['-g', 'daemon off;'],
  env: [{ name: 'MODE', value: 'prod' }],
  exposedPorts: [{ name: 'http', port: 80, protocol: 'tcp' }],
  volumes: [
    { name: 'conf.d', type: 'configmap', mountPath: '/etc/conf' },
    { name: 'creds', type: 'secret', mountPath: '/etc/creds' },
    { name: 'data', type: 'persistentVolume', mountPath: '/data' },
    { name: 'tmp', type: 'persistentVolume', mountPath: '/tmp/x' },
  ],
};
const persistentVolumes = [
  { name: 'data', size: '1Gi', storageClassName: 'lvm' as const },
  { name: 'tmp', size: '100Mi', storageClassName: 'temporary' as const },
];

describe('pod template translation', () => {
  it('round-trips containers through a pod template labelled app=<workload>', () => {
    const template = podTemplateToKube([container], { workload: 'web', persistentVolumes, claimVolume: claimVolumeFor('web') });
    expect(template.metadata).to.deep.equal({ labels: { app: 'web' } });
    expect(template.spec?.containers?.[0]).to.deep.include({ ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }], env: [{ name: 'MODE', value: 'prod' }] });
    expect(template.spec?.volumes).to.deep.equal([
      { name: 'cm-conf-d', configMap: { name: 'conf.d' } },
      { name: 'secret-creds', secret: { secretName: 'creds' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'web-data' } },
      { name: 'tmp', emptyDir: { sizeLimit: '100Mi' } },
    ]);
    expect(containersToApi(template)).to.deep.equal([container]);
    const claims = claimsOf('web', 'ns', persistentVolumes);
    expect(claims.map((c) => [c.metadata.name, c.spec?.storageClassName, c.spec?.accessModes, c.spec?.resources?.requests?.storage])).to.deep.equal([
      ['web-data', 'lvm', ['ReadWriteOnce'], '1Gi'],
    ]);
    expect(persistentVolumesToApi(template, (name) => claims.find((c) => c.metadata.name === name))).to.deep.equal(persistentVolumes);
  });

  it('mounts a configmap used by two containers once; leaves out env from references', () => {
    const shared = { name: 'conf', type: 'configmap' as const, mountPath: '/c' };
    const template = podTemplateToKube(
      [
        { name: 'a', image: 'x', volumes: [shared] },
        { name: 'b', image: 'y', volumes: [shared] },
      ],
      { workload: 'w', claimVolume: () => undefined, restartPolicy: 'Never' },
    );
    expect(template.spec?.volumes).to.have.length(1);
    expect(template.spec?.restartPolicy).to.equal('Never');
    template.spec!.containers![0].env = [{ name: 'FROM', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }];
    expect(containersToApi(template)[0]).to.not.have.property('env');
  });

  it('statefulset claim templates show as persistentVolumes and volumes without a pod volume', () => {
    const templates = claimTemplatesOf(persistentVolumes);
    expect(templates.map((t) => t.metadata.name)).to.deep.equal(['data']);
    const template = podTemplateToKube([container], { workload: 'db', persistentVolumes, claimVolume: () => undefined });
    expect(template.spec?.volumes?.map((v) => v.name)).to.deep.equal(['cm-conf-d', 'secret-creds', 'tmp']);
    expect(containersToApi(template, ['data'])[0].volumes).to.deep.equal(container.volumes);
    expect(persistentVolumesToApi(template, () => undefined, templates)).to.deep.equal([persistentVolumes[1], persistentVolumes[0]]);
  });

  it('names source volumes as DNS labels, however long the object name', () => {
    expect(sourceVolumeName('secret', 'a.b')).to.equal('secret-a-b');
    const long = sourceVolumeName('configmap', 'x'.repeat(200));
    expect(long).to.have.length.at.most(63).and.match(/^cm-x+-[0-9a-f]{8}$/);
    expect(long).to.not.equal(sourceVolumeName('configmap', `${'x'.repeat(199)}y`));
  });

  it('rejects bad containers naming the field', () => {
    expect(firstIssue(lower, [container])).to.equal('ok');
    expect(firstIssue(lower, [])).to.match(/^: /);
    expect(firstIssue(lower, [{ name: 'web' }])).to.match(/^0\.image: /);
    expect(firstIssue(lower, [{ ...container, name: 'Web' }])).to.match(/^0\.name: /);
    expect(firstIssue(lower, [{ ...container, exposedPorts: [{ port: 70000 }] }])).to.match(/^0\.exposedPorts\.0\.port: /);
    // Either case is a protocol (issue 15); something else is not.
    expect(firstIssue(lower, [{ ...container, exposedPorts: [{ port: 80, protocol: 'TCP' }] }])).to.equal('ok');
    expect(firstIssue(lower, [{ ...container, exposedPorts: [{ port: 80, protocol: 'sctp' }] }])).to.match(/^0\.exposedPorts\.0\.protocol: /);
    expect(firstIssue(lower, [{ ...container, volumes: [{ name: 'a', type: 'secret', mountPath: 'relative' }] }])).to.match(/^0\.volumes\.0\.mountPath: /);
    expect(firstIssue(lower, [{ ...container, env: [{ name: 'A' }, { name: 'A' }] }])).to.match(/^0\.env\.1: duplicate env name/);
    expect(firstIssue(upperRequired, [{ name: 'c', image: 'x', exposedPorts: [{ port: 80 }] }])).to.match(/^0\.exposedPorts\.0\.protocol: /);
    expect(firstIssue(upperRequired, [{ name: 'c', image: 'x', volumes: [{ name: 'd', type: 'persistentVolume', mountPath: '/d' }] }])).to.match(/^0\.volumes\.0\.type: /);
  });

  it('requires a size except for temporary volumes, and declared persistentVolumes for references', () => {
    expect(firstIssue(PersistentVolumeSchema, { name: 'd', storageClassName: 'nfs' })).to.equal('size: is required');
    expect(firstIssue(PersistentVolumeSchema, { name: 'd', storageClassName: 'temporary' })).to.equal('ok');
    expect(firstIssue(PersistentVolumeSchema, { name: 'd', size: 'lots', storageClassName: 'nfs' })).to.match(/^size: /);
    const refs = z.object({ containers: lower, persistentVolumes: z.array(PersistentVolumeSchema).optional() }).superRefine(checkPersistentVolumeReferences);
    expect(firstIssue(refs, { containers: [container], persistentVolumes })).to.equal('ok');
    expect(firstIssue(refs, { containers: [container], persistentVolumes: [persistentVolumes[0]] })).to.match(/^containers\.0\.volumes\.3\.name: /);
  });
});
