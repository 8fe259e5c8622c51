/**
 * AES-256-GCM for PHI at rest in Redis (operation payloads, cached reads). The record's key name
 * is bound as associated data, so a ciphertext copied under another key fails to open.
 * node:crypto is used directly: it is the well-kept library for this, and the format is 20 lines.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RecordCipher {
  seal(plaintext: string, boundTo: string): string;
  open(sealed: string, boundTo: string): string;
  /** A keyed hash for looking records up by a PHI value (a phone number) without storing it. */
  blind(value: string): string;
}

const VERSION = 'v1';

export function createRecordCipher(key: Buffer): RecordCipher {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes');
  const blindKey = createHmac('sha256', key).update('continuum-blind-index').digest();
  return {
    blind(value) {
      return createHmac('sha256', blindKey).update(value).digest('base64url').slice(0, 32);
    },
    seal(plaintext, boundTo) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(boundTo));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${VERSION}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
    },
    open(sealed, boundTo) {
      if (!sealed.startsWith(`${VERSION}.`)) throw new Error('unknown record format');
      const raw = Buffer.from(sealed.slice(VERSION.length + 1), 'base64');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
      decipher.setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    },
  };
}

/** The configured key, or one generated once and kept (mode 600) under the data directory. */
export function loadOrCreateKey(configured: string | undefined, dataDir: string): Buffer {
  if (configured !== undefined) return Buffer.from(configured, 'base64');
  const file = join(dataDir, 'keys', 'record.key');
  if (existsSync(file)) return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  try {
    writeFileSync(file, key.toString('base64'), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    // Another process sharing the data directory wrote it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST')
      return Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    throw error;
  }
  chmodSync(file, 0o600);
  return key;
}
