import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { z } from 'zod';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { defineCollection } from '../../src/store/store.js';
import { tempDir } from '../helpers/zcloud.js';

const things = defineCollection('things', z.object({ n: z.number() }));

describe('lowdb store writes', () => {
  it('rewrites the data file only when a write changed something', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [things] });
    try {
      const collection = store.collection(things);
      await collection.create('a-1', { n: 1 });
      await collection.create('a-2', { n: 2 });
      const file = path.join(dir, 'zcloud.json');
      const before = { mtime: statSync(file).mtimeMs, ino: statSync(file).ino, text: readFileSync(file, 'utf8') };
      await new Promise((r) => setTimeout(r, 20));
      expect(await collection.delete('missing')).to.equal(false);
      expect(await collection.trimOldest(5)).to.equal(0);
      // The file is replaced by rename on every write: same inode and mtime means untouched.
      expect({ mtime: statSync(file).mtimeMs, ino: statSync(file).ino, text: readFileSync(file, 'utf8') }).to.deep.equal(before);
      expect(await collection.trimOldest(1)).to.equal(1);
      expect(JSON.parse(readFileSync(file, 'utf8')).collections.things).to.deep.equal({ 'a-2': { n: 2 } });
      expect(await collection.delete('a-2')).to.equal(true);
      expect(JSON.parse(readFileSync(file, 'utf8')).collections.things).to.deep.equal({});
    } finally {
      await store.close();
    }
  });
});
