import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { z } from 'zod';
import { DataDirInUseError, StoreCorruptError } from '../../src/errors.js';
import { writeFileDurably } from '../../src/store/durable-file.js';
import { openLowdbStore } from '../../src/store/lowdb-store.js';
import { defineCollection, defineLog } from '../../src/store/store.js';
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

const entries = defineLog('events', z.object({ id: z.string(), n: z.number() }));

function logLines(dir: string): string[] {
  return readFileSync(path.join(dir, 'events.log'), 'utf8').split('\n').filter(Boolean);
}

describe('lowdb store: data dir lock', () => {
  it('refuses a second open of a dir this process holds, and reopens after close', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [things] });
    let error: unknown;
    await openLowdbStore({ dataDir: path.join(dir, '.'), collections: [things] }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(DataDirInUseError);
    expect((error as Error).message).to.match(/is already open in this process/);
    await store.close();
    const again = await openLowdbStore({ dataDir: dir, collections: [things] });
    await again.close();
    // The lock file stays: deleting it would let two processes lock two different inodes.
    expect(existsSync(path.join(dir, 'zcloud.lock'))).to.equal(true);
  });

  it('releases the lock when opening fails', async () => {
    const dir = tempDir();
    writeFileSync(path.join(dir, 'zcloud.json'), 'not json');
    let error: unknown;
    await openLowdbStore({ dataDir: dir, collections: [things] }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreCorruptError);
    writeFileSync(path.join(dir, 'zcloud.json'), JSON.stringify({ version: 1, collections: {} }));
    const store = await openLowdbStore({ dataDir: dir, collections: [things] });
    await store.close();
  });
});

describe('lowdb store: durable writes', () => {
  it('writes by temp file and rename, and removes temp files a killed writer left', async () => {
    const dir = tempDir();
    const leftover = path.join(dir, '.zcloud.json.tmp-4242-deadbeef');
    writeFileSync(leftover, '{"version":1,"collec');
    const store = await openLowdbStore({ dataDir: dir, collections: [things] });
    try {
      expect(existsSync(leftover)).to.equal(false);
      await store.collection(things).create('a', { n: 1 });
      expect(readdirSync(dir).sort()).to.deep.equal(['data-secrets.key', 'zcloud.json', 'zcloud.lock']);
    } finally {
      await store.close();
    }
  });

  it('answers each of many concurrent writes only once it is in the file (group commit)', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [things] });
    try {
      const collection = store.collection(things);
      await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          await collection.create(`t-${i}`, { n: i });
          const onDisk = JSON.parse(readFileSync(path.join(dir, 'zcloud.json'), 'utf8')).collections.things;
          expect(onDisk[`t-${i}`]).to.deep.equal({ n: i });
        }),
      );
    } finally {
      await store.close();
    }
  });

  it('writes a file with writeFileDurably whole, with the mode asked for', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'key');
    await writeFileDurably(file, 'first', 0o600);
    await writeFileDurably(file, 'second', 0o600);
    expect(readFileSync(file, 'utf8')).to.equal('second');
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    expect(readdirSync(dir)).to.deep.equal(['key']);
  });
});

describe('lowdb store: append-only logs', () => {
  it('appends one line per entry, lists oldest first, and keeps them across a reopen', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [things, entries] });
    const log = store.log(entries, { maxEntries: 100 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => log.append({ id: `e${i}`, n: i })));
    expect(logLines(dir)).to.have.length(10);
    expect((await log.list()).map((e) => e.n)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // The data file is not written for a log entry.
    expect(existsSync(path.join(dir, 'zcloud.json'))).to.equal(false);
    await store.close();
    const reopened = await openLowdbStore({ dataDir: dir, collections: [things, entries] });
    try {
      expect((await reopened.log(entries, { maxEntries: 100 }).list()).map((e) => e.id)).to.deep.equal(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
    } finally {
      await reopened.close();
    }
  });

  it('keeps the newest entries within the bound and compacts the file at twice the bound', async () => {
    const dir = tempDir();
    const store = await openLowdbStore({ dataDir: dir, collections: [entries] });
    try {
      const log = store.log(entries, { maxEntries: 5 });
      for (let i = 0; i < 23; i++) {
        await log.append({ id: `e${i}`, n: i });
        expect(logLines(dir).length).to.be.at.most(10);
      }
      expect((await log.list()).map((e) => e.n)).to.deep.equal([18, 19, 20, 21, 22]);
      expect(logLines(dir).slice(-5).map((line) => JSON.parse(line).n)).to.deep.equal([18, 19, 20, 21, 22]);
    } finally {
      await store.close();
    }
  });

  it('cuts off a torn last line (an append a crash cut short) and refuses a bad line before it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'events.log');
    writeFileSync(file, '{"id":"e0","n":0}\n{"id":"e1","n":1}\n{"id":"e2","n"');
    const store = await openLowdbStore({ dataDir: dir, collections: [entries] });
    const log = store.log(entries, { maxEntries: 10 });
    expect((await log.list()).map((e) => e.id)).to.deep.equal(['e0', 'e1']);
    await log.append({ id: 'e3', n: 3 });
    await store.close();
    expect(readFileSync(file, 'utf8')).to.equal('{"id":"e0","n":0}\n{"id":"e1","n":1}\n{"id":"e3","n":3}\n');

    writeFileSync(file, '{"id":"e0","n":0}\n{"id":"e1","n":"one"}\n{"id":"e2","n":2}\n');
    let error: unknown;
    await openLowdbStore({ dataDir: dir, collections: [entries] }).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(StoreCorruptError);
    expect((error as Error).message).to.match(/events\.log line 2 is invalid at n/);
  });

  it('moves the entries an older data file holds as a collection into the log, once', async () => {
    const dir = tempDir();
    const dataFile = path.join(dir, 'zcloud.json');
    const old = { version: 1, collections: { things: { a: { n: 1 } }, events: { 'e-b': { id: 'e-b', n: 1 }, 'e-a': { id: 'e-a', n: 2 } } } };
    writeFileSync(dataFile, JSON.stringify(old));
    const first = await openLowdbStore({ dataDir: dir, collections: [things, entries] });
    await first.log(entries, { maxEntries: 10 }).append({ id: 'e-c', n: 3 });
    await first.close();
    expect(JSON.parse(readFileSync(dataFile, 'utf8')).collections).to.deep.equal({ things: { a: { n: 1 } } });
    expect(logLines(dir).map((line) => JSON.parse(line).id)).to.deep.equal(['e-b', 'e-a', 'e-c']);

    // A crash after the log was written but before the data file dropped its collection.
    writeFileSync(dataFile, JSON.stringify(old));
    const second = await openLowdbStore({ dataDir: dir, collections: [things, entries] });
    try {
      expect((await second.log(entries, { maxEntries: 10 }).list()).map((e) => e.id)).to.deep.equal(['e-b', 'e-a', 'e-c']);
      expect(JSON.parse(readFileSync(dataFile, 'utf8')).collections).to.deep.equal({ things: { a: { n: 1 } } });
    } finally {
      await second.close();
    }
  });
});
