import { expect } from 'chai';
import type { ImportedCluster } from './imported.js';
import { eventually } from './world.js';

/** A body the API must refuse, and the start of the message it must answer (field first). */
export type RejectedCase = [body: unknown, message: RegExp];

/** POSTs every body to `url` and expects 422 naming the field, as each case says. */
export async function expectRejected(env: ImportedCluster, url: string, cases: readonly RejectedCase[]): Promise<void> {
  for (const [body, message] of cases) {
    const res = await env.api('POST', url, { body });
    expect(res.status, `${JSON.stringify(body)}: ${res.text}`).to.equal(422);
    expect(res.body.message).to.match(message);
  }
}

/** Selector and one-container template of `app=<name>`: a workload made outside zcloud. */
export function outsideSpec(name: string) {
  return { selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'x' }] } } };
}

interface VersionRow {
  version: number;
  changeReason: string;
  containers: Array<{ image: string }>;
  creationTimestamp?: string;
}

export interface RevisionFlow {
  /** The workload's URL, e.g. `.../deployments/web`. */
  url: string;
  container: string;
  /** The image the workload was created with, and the one to set. */
  from: string;
  to: string;
  /** The workload as the apiserver holds it (client-node's read of its kind). */
  readReal(): Promise<RealWorkload>;
}

interface RealWorkload {
  metadata?: { annotations?: Record<string, string> };
  spec?: { template: { spec?: { containers: Array<{ image?: string }> } } };
}

async function imageAndCause(flow: RevisionFlow): Promise<{ image: string | undefined; changeCause: string | undefined }> {
  const real = await flow.readReal();
  return { image: real.spec?.template.spec?.containers[0].image, changeCause: real.metadata?.annotations?.['kubernetes.io/change-cause'] };
}

/**
 * The setImage → history → rollback flow every revisioned workload offers, checked through the
 * API and against the apiserver: the change cause is recorded, history lists the old template
 * (current excluded), unknown containers and versions are 422, and a rollback restores the old
 * template, after which the rolled-back-from version is the only history.
 */
export async function checkRevisionFlow(env: ImportedCluster, flow: RevisionFlow): Promise<void> {
  const action = (name: string, body?: unknown) => env.api('POST', `${flow.url}?action=${name}`, body === undefined ? {} : { body });
  const history = async (): Promise<VersionRow[]> => (await action('history')).body.history;

  const set = await action('setImage', { images: [{ name: flow.container, image: flow.to }], reason: 'upgrade' });
  expect(set.status, set.text).to.equal(200);
  expect(await imageAndCause(flow)).to.deep.equal({ image: flow.to, changeCause: 'upgrade' });
  const before = await eventually(async () => {
    const rows = await history();
    expect(rows.map((h) => [h.version, h.changeReason, h.containers[0].image])).to.deep.equal([[1, '', flow.from]]);
    return rows;
  }, { within: 10_000 });
  expect(before[0].creationTimestamp).to.be.a('string');

  const unknown = await action('setImage', { images: [{ name: 'nope', image: 'x' }] });
  expect(unknown.status).to.equal(422);
  expect(unknown.body.message).to.match(/^images\.0\.name: /);
  expect((await action('rollback', { version: 42 })).body.message).to.match(/^version: /);

  const back = await action('rollback', { version: 1, reason: 'back' });
  expect(back.status, back.text).to.equal(200);
  expect(await imageAndCause(flow)).to.deep.equal({ image: flow.from, changeCause: 'back' });
  await eventually(async () => {
    expect((await history()).map((h) => [h.version, h.changeReason, h.containers[0].image])).to.deep.equal([[2, 'upgrade', flow.to]]);
  }, { within: 10_000 });
}
