import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';

const scryptAsync = promisify(scrypt) as (secret: string, salt: Buffer, keylen: number) => Promise<Buffer>;
const KEY_LENGTH = 32;

/**
 * Clients send the sha1 hex of the password (the zcloud.cn protocol); zcloud stores a salted
 * scrypt of that, never the value itself. Format: `scrypt$<salt b64>$<hash b64>`.
 */
export async function hashCredential(sha1Hex: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(sha1Hex.toLowerCase(), salt, KEY_LENGTH);
  return `scrypt$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyCredential(sha1Hex: string, stored: string): Promise<boolean> {
  const [scheme, saltB64, hashB64] = stored.split('$');
  if (scheme !== 'scrypt' || !saltB64 || !hashB64) return false;
  const expected = Buffer.from(hashB64, 'base64');
  const actual = await scryptAsync(sha1Hex.toLowerCase(), Buffer.from(saltB64, 'base64'), expected.length);
  return timingSafeEqual(actual, expected);
}

/** A hash nobody's credential matches, so an unknown user costs the same scrypt as a known one. */
export const UNMATCHABLE_CREDENTIAL = `scrypt$${randomBytes(16).toString('base64')}$${randomBytes(KEY_LENGTH).toString('base64')}`;
