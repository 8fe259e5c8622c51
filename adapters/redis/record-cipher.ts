/**
 * AES-256-GCM for PHI at rest in Redis (operation payloads, cached reads). The record's key name
 * is bound as associated data, so a ciphertext copied under another key fails to open.
 * node:crypto is used directly: it is the well-kept library for this, and the format is 20 lines.
 *
 * Records are binary: a version byte, the IV, the tag, then the ciphertext of the deflated JSON.
 * A queued write's record is most of what a backlog costs in Redis memory, and JSON records with
 * their repeated field names shrink by about half; base64 text would add a third back.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RecordCipher {
  seal(plaintext: string, boundTo: string): Buffer;
  /** Opens this format, and the earlier base64 text one (`v1.`) still found in older data. */
  open(sealed: Buffer | string, boundTo: string): string;
  /** A keyed hash for looking records up by a PHI value (a phone number) without storing it. */
  blind(value: string): string;
}

const LEGACY_TEXT_PREFIX = 'v1.';
const BINARY_V2 = 0x02;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/**
 * A 2 KB window and little state: records are a few hundred bytes to a few KB, and zlib's default
 * buffers (over 256 KB a call) would cost more in garbage collection than the compression itself.
 */
const DEFLATE = { windowBits: 11, memLevel: 3 } as const;
const INFLATE = { windowBits: 11 } as const;

export function createRecordCipher(key: Buffer): RecordCipher {
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes');
  const blindKey = createHmac('sha256', key).update('continuum-blind-index').digest();
  /** `raw` = IV, tag, ciphertext. */
  const decrypt = (raw: Buffer, boundTo: string): Buffer => {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
  };
  return {
    blind(value) {
      return createHmac('sha256', blindKey).update(value).digest('base64url').slice(0, 32);
    },
    seal(plaintext, boundTo) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(boundTo));
      const body = Buffer.concat([cipher.update(deflateRawSync(plaintext, DEFLATE)), cipher.final()]);
      return Buffer.concat([Buffer.of(BINARY_V2), iv, cipher.getAuthTag(), body]);
    },
    open(sealed, boundTo) {
      const raw = typeof sealed === 'string' ? Buffer.from(sealed, 'latin1') : sealed;
      if (raw.subarray(0, LEGACY_TEXT_PREFIX.length).toString('latin1') === LEGACY_TEXT_PREFIX) {
        const legacy = Buffer.from(raw.subarray(LEGACY_TEXT_PREFIX.length).toString('latin1'), 'base64');
        return decrypt(legacy, boundTo).toString('utf8');
      }
      if (raw[0] !== BINARY_V2) throw new Error('unknown record format');
      return inflateRawSync(decrypt(raw.subarray(1), boundTo), INFLATE).toString('utf8');
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
