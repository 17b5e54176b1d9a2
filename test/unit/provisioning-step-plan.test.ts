import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { ProvisionedClusterInputSchema, type ProvisionedClusterSpec } from '../../src/clusters/provisioning-spec.js';
import { nextStep, planSteps, stepId, type ProvisioningJournal } from '../../src/provisioning/step-plan.js';

const sshKey = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs1', format: 'pem' }, publicKeyEncoding: { type: 'pkcs1', format: 'pem' } }).privateKey;
const spec = ProvisionedClusterInputSchema.parse({
  nodes: [
    { name: 'cp1', address: '10.209.1.2', roles: ['controlplane', 'etcd'] },
    { name: 'w1', address: '10.209.1.3', roles: ['worker'] },
  ],
  sshUser: 'zcloud',
  sshKey,
}) as ProvisionedClusterSpec;

const journal = (done: string[], extra: ProvisioningJournal['steps'] = {}): ProvisioningJournal => ({
  cluster: 'c',
  generation: 1,
  hostKeys: {},
  etcdJoins: {},
  etcdFormed: false,
  steps: { ...Object.fromEntries(done.map((id) => [id, { state: 'done' as const, attempts: 1, startedAt: '2026-01-01T00:00:00.000Z' }])), ...extra },
});

describe('provisioning step plan', () => {
  it('issues the PKI first, connects every host before changing any, etcd before the control plane, the apiserver proxy of non-controlplane hosts, then kubelets, kube-proxies, pod networks, cluster objects and add-ons', () => {
    expect(planSteps(spec).map(stepId)).to.deep.equal([
      'pki', 'connect/cp1', 'connect/w1', 'files/cp1', 'files/w1', 'etcd/cp1', 'control-plane/cp1', 'apiserver-proxy/w1', 'kubelet/cp1', 'kubelet/w1',
      'kube-proxy/cp1', 'kube-proxy/w1', 'pod-network/cp1', 'pod-network/w1', 'cluster-objects', 'addons',
    ]);
  });

  it('resumes at the first step not done, re-running one that was in flight or failed', () => {
    expect(stepId(nextStep(spec, journal([]))!)).to.equal('pki');
    const through = ['pki', 'connect/cp1', 'connect/w1', 'files/cp1', 'files/w1'];
    expect(stepId(nextStep(spec, journal(through))!)).to.equal('etcd/cp1');
    const inFlight = journal(through, { 'etcd/cp1': { state: 'running', attempts: 1, startedAt: '2026-01-01T00:00:00.000Z' } });
    expect(stepId(nextStep(spec, inFlight)!)).to.equal('etcd/cp1');
    expect(nextStep(spec, journal(planSteps(spec).map(stepId)))).to.equal(undefined);
  });
});
