/**
 * API keys and client ids: how they are made, recognised and hashed. A key is 32 random bytes
 * behind a `ck_` prefix, so a leaked one is recognisable in a log or a repository scan; only its
 * SHA-256 is ever stored.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const KEY_PREFIX = 'ck_';
/** 32 bytes in base64url, without padding. */
const KEY_SHAPE = /^ck_[A-Za-z0-9_-]{43}$/;

export function newApiKey(): string {
  return `${KEY_PREFIX}${randomBytes(32).toString('base64url')}`;
}

/** `cl_` + 24 lowercase hex digits (96 random bits): unguessable, and never mistaken for a name. */
export function newClientId(): string {
  return `cl_${randomBytes(12).toString('hex')}`;
}

export function isClientId(value: string): boolean {
  return /^cl_[0-9a-f]{24}$/.test(value);
}

/** Anything else cannot be a key: refused without a hash, a cache entry or a Redis round trip. */
export function looksLikeApiKey(value: string): boolean {
  return KEY_SHAPE.test(value);
}

/**
 * SHA-256, hex. A fast hash is the right one here: the key carries 256 random bits, so there is
 * nothing for a slow hash (bcrypt, scrypt, argon2) to protect; those exist for low-entropy
 * passwords, and would cost every authenticated request tens of milliseconds of CPU.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Compares two key hashes in constant time. */
export function sameKeyHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === 32 && right.length === 32 && timingSafeEqual(left, right);
}
