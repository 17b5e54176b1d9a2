import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { z } from 'zod';
import { StoreCorruptError } from '../../src/errors.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { defineCollection, defineLog } from '../../src/store/store.js';
import { tempDir } from '../helpers/zcloud.js';

const sites = defineCollection(
  'sites',
  z.object({
    name: z.string(),
    source: z.object({ kubeconfig: z.string() }),
    registries: z.array(z.object({ url: z.string(), password: z.string() })),
  }),
);
const notes = defineLog('notes', z.object({ id: z.string(), text: z.string() }));
const KUBECONFIG = 'apiVersion: v1\nusers:\n- user:\n    client-key-data: S0VZLURBVEEtVEhBVC1NVVNULVNUQVktU0VDUkVU\n';
const site = { name: 'east', source: { kubeconfig: KUBECONFIG }, registries: [{ url: 'r.example', password: 'hunter2-registry' }] };

const modeOf = (file: string) => statSync(file).mode & 0o777;

describe('store: secrets and modes at rest (issue 16)', () => {
  it('makes the data dir 0700 and every file 0600', async () => {
    const dir = path.join(tempDir(), 'data');
    const store = await openLowdbStore({ dataDir: dir, collections: [sites, notes] });
    try {
      await store.collection(sites).create('east', site);
      await store.log(notes, { maxEntries: 10 }).append({ id: 'n1', text: 'x' });
    } finally {
      await store.close();
    }
    expect(modeOf(dir)).to.equal(0o700);
    const files = readdirSync(dir);
    expect(files).to.include.members(['zcloud.json', 'notes.log', 'data-secrets.key']);
    for (const file of files) expect(modeOf(path.join(dir, file)), file).to.equal(0o600);
  });

  it('keeps kubeconfigs and passwords sealed in the data file and plain to its callers', async () => {
    const dir = tempDir();
    let store = await openLowdbStore({ dataDir: dir, collections: [sites] });
    await store.collection(sites).create('east', site);
    await store.close();
    const text = readFileSync(path.join(dir, 'zcloud.json'), 'utf8');
    expect(text).to.not.include('client-key-data').and.not.include('hunter2-registry');
    expect(JSON.parse(text).collections.sites.east.name).to.equal('east'); // what is not secret stays readable
    store = await openLowdbStore({ dataDir: dir, collections: [sites] });
    try {
      expect(await store.collection(sites).get('east')).to.deep.equal(site);
    } finally {
      await store.close();
    }
  });

  it('refuses to start with another key, naming the record, and never overwrites the file', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [sites] });
    await store.collection(sites).create('east', site);
    await store.close();
    const before = readFileSync(path.join(dir, 'zcloud.json'), 'utf8');
    const otherKey = randomBytes(32).toString('base64');
    let failure: unknown;
    await openLowdbStore({ dataDir: dir, collections: [sites], secretsKey: otherKey }).catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(StoreCorruptError);
    expect((failure as Error).message).to.include('sites/east');
    expect(readFileSync(path.join(dir, 'zcloud.json'), 'utf8')).to.equal(before);
  });

  it('seals the plain secrets of an older data file at open, and narrows its modes', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'zcloud.json');
    writeFileSync(file, JSON.stringify({ version: 1, collections: { sites: { east: site } } }), { mode: 0o644 });
    const store = await openLowdbStore({ dataDir: dir, collections: [sites] });
    try {
      expect(await store.collection(sites).get('east')).to.deep.equal(site);
      expect(readFileSync(file, 'utf8')).to.not.include('client-key-data').and.not.include('hunter2-registry');
      expect(modeOf(file)).to.equal(0o600);
    } finally {
      await store.close();
    }
  });

  it('takes its key from ZCLOUD_SECRETS_KEY when given, writing no key file', async () => {
    const dir = tempDir();
    const key = randomBytes(32).toString('base64');
    let store = await openLowdbStore({ dataDir: dir, collections: [sites], secretsKey: key });
    await store.collection(sites).create('east', site);
    await store.close();
    expect(readdirSync(dir)).to.not.include('data-secrets.key');
    store = await openLowdbStore({ dataDir: dir, collections: [sites], secretsKey: key });
    try {
      expect((await store.collection(sites).get('east'))?.source.kubeconfig).to.equal(KUBECONFIG);
    } finally {
      await store.close();
    }
  });
});
