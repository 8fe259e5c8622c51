/**
 * The credential tests present to each gateway they started, by origin. A gateway's test support
 * registers the admin key its first start wrote (`<dataDir>/admin.key`); `http()` and `rawRequest()`
 * send it unless a test passes its own Authorization or X-API-Key, or asks to go anonymous.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const keys = new Map<string, string>();

export function useCredential(baseUrl: string, key: string): void {
  keys.set(new URL(baseUrl).origin, key);
}

export function forgetCredential(baseUrl: string): void {
  keys.delete(new URL(baseUrl).origin);
}

export function credentialFor(url: string): string | undefined {
  return keys.get(new URL(url).origin);
}

/** The admin key a gateway's first start wrote under its data directory. */
export function readAdminKey(dataDir: string): string {
  return readFileSync(join(dataDir, 'admin.key'), 'utf8').trim();
}

/** Headers plus the registered credential, unless the caller set one or wants none. */
export function withCredential(
  url: string,
  headers: Record<string, string> | undefined,
  anonymous = false,
): Record<string, string> {
  const out = { ...headers };
  const names = Object.keys(out).map((h) => h.toLowerCase());
  if (anonymous || names.includes('authorization') || names.includes('x-api-key')) return out;
  const key = credentialFor(url);
  if (key !== undefined) out.authorization = `Bearer ${key}`;
  return out;
}
