import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { readKeyFileSync, writeFileDurablySync } from '../store/durable-file.js';

/**
 * The JWT signing key: from config when given (base64), else 32 random bytes generated on first
 * start and kept in `<dataDir>/jwt-signing.key` (mode 0600), so tokens survive restarts.
 * Call only while holding the data dir's lock (after the store opened): the key is written
 * without an exclusive-create check.
 */
export function loadSigningKey(dataDir: string, configured?: string): Uint8Array {
  if (configured) return Buffer.from(configured, 'base64');
  const file = path.join(dataDir, 'jwt-signing.key');
  const text = readKeyFileSync(file);
  // An empty file is what an older zcloud left when it was killed (or the machine lost power)
  // while writing the key in place on its first start: no token was ever signed with it, so a
  // new key loses nothing. A non-empty short key is someone's edit and stops start-up.
  if (text) {
    const key = Buffer.from(text, 'base64');
    if (key.length >= 32) return key;
    throw new Error(`${file} holds fewer than 32 bytes`);
  }
  const key = randomBytes(32);
  // temp + fsync + rename + fsync dir: a kill or power cut leaves the old state (no key, so the
  // next start generates one) or the whole key, never an empty or partial file.
  writeFileDurablySync(file, key.toString('base64'), 0o600);
  return key;
}
