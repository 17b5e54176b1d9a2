import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The JWT signing key: from config when given (base64), else 32 random bytes generated on first
 * start and kept in `<dataDir>/jwt-signing.key` (mode 0600), so tokens survive restarts.
 */
export function loadSigningKey(dataDir: string, configured?: string): Uint8Array {
  if (configured) return Buffer.from(configured, 'base64');
  const file = path.join(dataDir, 'jwt-signing.key');
  try {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (key.length >= 32) return key;
    throw new Error(`${file} holds fewer than 32 bytes`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(32);
  writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
  return key;
}
