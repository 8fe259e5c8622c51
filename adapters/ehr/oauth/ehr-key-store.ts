/**
 * The gateway's EHR signing keys on disk (`<dataDir>/keys/ehr`, directory 0700, one file 0600
 * per key): each a private JWK with its kid, alg, creation time and, once superseded, until when
 * it stays published. The newest key of an algorithm signs; a key superseded by `rotate` is still
 * published in the JWKS (EHRs that cached it keep verifying) until its overlap ends, then it is
 * retired and its file removed at the next rotation.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { EhrSigningAlgorithm } from './private-key';

export type EhrKeyState = 'active' | 'published' | 'retired';

export interface EhrKeyRecord {
  readonly kid: string;
  readonly alg: EhrSigningAlgorithm;
  /** ISO time. */
  readonly createdAt: string;
  /** Set by the rotation that replaced it: from then on it no longer signs. */
  readonly supersededAt?: string;
  /** Until when a superseded key stays in the JWKS. */
  readonly publishedUntil?: string;
  /** The private key. */
  readonly jwk: JWK;
}

const KEY_FILE = /^ehr-key-[A-Za-z0-9_-]+\.json$/;

export function ehrKeyDir(dataDir: string): string {
  return join(dataDir, 'keys', 'ehr');
}

/** Each key's state at `now`: per algorithm, the newest key not superseded is the active signer. */
export function ehrKeyStates(
  records: readonly EhrKeyRecord[],
  now = Date.now(),
): { readonly record: EhrKeyRecord; readonly state: EhrKeyState }[] {
  const newest = new Map<string, EhrKeyRecord>();
  for (const record of records) {
    if (record.supersededAt !== undefined) continue;
    const current = newest.get(record.alg);
    if (current === undefined || newer(record, current)) newest.set(record.alg, record);
  }
  return [...records]
    .sort((a, b) => (newer(a, b) ? -1 : 1))
    .map((record) => {
      if (newest.get(record.alg) === record) return { record, state: 'active' as const };
      // Two keys created at once by two processes: the older of them still verifies, never signs.
      if (record.supersededAt === undefined) return { record, state: 'published' as const };
      const until = Date.parse(record.publishedUntil ?? record.supersededAt);
      return { record, state: now < until ? ('published' as const) : ('retired' as const) };
    });
}

function newer(a: EhrKeyRecord, b: EhrKeyRecord): boolean {
  return a.createdAt !== b.createdAt ? a.createdAt > b.createdAt : a.kid > b.kid;
}

export async function readEhrKeys(dir: string): Promise<EhrKeyRecord[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const records: EhrKeyRecord[] = [];
  for (const name of names.filter((n) => KEY_FILE.test(n))) {
    let text: string;
    try {
      text = await readFile(join(dir, name), 'utf8');
    } catch (error) {
      // Removed between the listing and the read (a rotation pruning it).
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    records.push(parseRecord(text, name));
  }
  return records;
}

function parseRecord(text: string, name: string): EhrKeyRecord {
  let value: Partial<EhrKeyRecord>;
  try {
    value = JSON.parse(text) as Partial<EhrKeyRecord>;
  } catch {
    throw new Error(`EHR key file ${name} is not JSON`);
  }
  if (
    typeof value.kid !== 'string' ||
    (value.alg !== 'ES384' && value.alg !== 'RS384') ||
    typeof value.createdAt !== 'string' ||
    typeof value.jwk !== 'object'
  ) {
    throw new Error(`EHR key file ${name} is not an EHR signing key (kid, alg, createdAt, jwk)`);
  }
  return value as EhrKeyRecord;
}

export async function createEhrKey(
  dir: string,
  alg: EhrSigningAlgorithm,
  now = new Date(),
): Promise<EhrKeyRecord> {
  await ensureDir(dir);
  const { privateKey } = await generateKeyPair(
    alg,
    alg === 'RS384' ? { extractable: true, modulusLength: 3072 } : { extractable: true },
  );
  const jwk = await exportJWK(privateKey);
  const publicParts: JWK =
    jwk.kty === 'EC'
      ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
      : { kty: jwk.kty, n: jwk.n, e: jwk.e };
  const kid = await calculateJwkThumbprint(publicParts, 'sha256');
  const record: EhrKeyRecord = { kid, alg, createdAt: now.toISOString(), jwk: { ...jwk, kid, alg } };
  await writeRecord(dir, record, 'wx');
  return record;
}

/**
 * A new active key for each algorithm named (default: each that has an active key, else ES384);
 * the keys they replace stay published for `overlapMs`. Keys already retired are removed.
 */
export async function rotateEhrKeys(
  dir: string,
  options: {
    readonly algorithms?: readonly EhrSigningAlgorithm[];
    readonly overlapMs: number;
    readonly now?: Date;
  },
): Promise<{ readonly created: readonly EhrKeyRecord[]; readonly superseded: readonly EhrKeyRecord[] }> {
  const now = options.now ?? new Date();
  const before = ehrKeyStates(await readEhrKeys(dir), now.getTime());
  const active = before.filter((k) => k.state === 'active').map((k) => k.record);
  const algorithms =
    options.algorithms ?? (active.length > 0 ? [...new Set(active.map((k) => k.alg))] : ['ES384']);
  const created: EhrKeyRecord[] = [];
  for (const alg of algorithms) created.push(await createEhrKey(dir, alg, now));
  // The new key is on disk before the old one stops signing: no moment without a signer.
  const superseded: EhrKeyRecord[] = [];
  for (const { record } of before.filter((k) => k.state !== 'retired' && algorithms.includes(k.record.alg))) {
    if (record.supersededAt !== undefined) continue;
    const replaced: EhrKeyRecord = {
      ...record,
      supersededAt: now.toISOString(),
      publishedUntil: new Date(now.getTime() + options.overlapMs).toISOString(),
    };
    await writeRecord(dir, replaced, 'replace');
    superseded.push(replaced);
  }
  for (const { record } of before.filter((k) => k.state === 'retired')) {
    await unlink(join(dir, fileName(record.kid))).catch(() => undefined);
  }
  return { created, superseded };
}

async function ensureDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

function fileName(kid: string): string {
  return `ehr-key-${kid}.json`;
}

/** Written whole under a private name and renamed into place: a reader never sees half a key. */
async function writeRecord(dir: string, record: EhrKeyRecord, mode: 'wx' | 'replace'): Promise<void> {
  const file = join(dir, fileName(record.kid));
  const temp = join(dir, `.${fileName(record.kid)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(record, null, 2));
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (mode === 'wx') {
    // A thumbprint kid is unique per key: an existing file would be the same key.
    const existing = await readFile(file).catch(() => undefined);
    if (existing !== undefined) {
      await unlink(temp);
      throw new Error(`an EHR key with kid ${record.kid} already exists`);
    }
  }
  await rename(temp, file);
}
