import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import { readKeyFileSync, syncDirectorySync, writeFileDurablySync } from './durable-file.js';

/** The key file in the data dir; like the JWT key, it never leaves the machine zcloud runs on. */
export const SECRET_BOX_KEY_FILE = 'data-secrets.key';
/** Its name when only provisioned clusters' keys were sealed with it. */
const LEGACY_KEY_FILE = 'provisioning-secrets.key';

const FORMAT = 'aes256gcm.v1';

/**
 * Encrypts secrets kept in the data file (imported clusters' kubeconfigs, SSH keys, the private
 * keys of provisioned clusters' PKI), so the data file alone (a backup, a copy sent with a bug
 * report) gives away nothing. AES-256-GCM:
 * a tampered or swapped value fails to open. `context` (say `pki/prov/ca`) is bound as
 * associated data, so a ciphertext copied to another record does not open there either.
 */
export class SecretBox {
  readonly #key: Buffer;

  private constructor(key: Buffer) {
    this.#key = key;
  }

  /**
   * The box of the data dir: its key is `keyBase64` when given (ZCLOUD_SECRETS_KEY, e.g. from a
   * Kubernetes Secret), else read from `<dataDir>/data-secrets.key`, or made (32 random bytes,
   * mode 0600, written durably) on first use. Call only while holding the data dir's lock.
   */
  static forDataDir(dataDir: string, keyBase64?: string): SecretBox {
    if (keyBase64 !== undefined) return new SecretBox(decodeKey(keyBase64, 'ZCLOUD_SECRETS_KEY'));
    const file = path.join(dataDir, SECRET_BOX_KEY_FILE);
    const legacy = path.join(dataDir, LEGACY_KEY_FILE);
    if (!existsSync(file) && existsSync(legacy)) {
      renameSync(legacy, file);
      syncDirectorySync(dataDir);
    }
    const text = readKeyFileSync(file);
    if (text) return new SecretBox(decodeKey(text, file));
    // A crash before the rename leaves no key; nothing was sealed with it yet, so a new one loses nothing.
    const key = randomBytes(32);
    writeFileDurablySync(file, key.toString('base64'), 0o600);
    return new SecretBox(key);
  }

  /** A box with the key `keyBase64` (32 bytes); `source` names where it came from in errors. */
  static fromKey(keyBase64: string, source: string): SecretBox {
    return new SecretBox(decodeKey(keyBase64, source));
  }

  /** Whether `value` has the form `seal` gives (it may still not open here). */
  static isSealed(value: string): boolean {
    return value.startsWith(`${FORMAT}:`);
  }

  seal(plain: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [FORMAT, iv.toString('base64'), cipher.getAuthTag().toString('base64'), sealed.toString('base64')].join(':');
  }

  /** Throws (naming the context, never the content) when the value was not sealed by this box for `context`. */
  open(sealed: string, context: string): string {
    const [format, iv, tag, data] = sealed.split(':');
    if (format !== FORMAT || !iv || !tag || data === undefined) throw new Error(`${context}: not a sealed value`);
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new Error(`${context}: cannot be opened with the key in the data dir (${SECRET_BOX_KEY_FILE})`, { cause: err });
    }
  }
}

function decodeKey(text: string, source: string): Buffer {
  const key = Buffer.from(text.trim(), 'base64');
  if (key.length !== 32) throw new ConfigError('ZCLOUD_SECRETS_KEY', `${source} does not hold a 32-byte key (base64)`);
  return key;
}
