/**
 * The key the gateway signs its access tokens with: one ES256 pair per data directory, shared by
 * every process that uses it, so a token issued by one process is accepted by the others.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK } from 'jose';
import type { CryptoKey, JWK } from 'jose';

export const SIGNING_ALGORITHM = 'ES256';

export interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** As `/.well-known/jwks.json` lists it: `kid`, `alg`, `use: sig`, never `d`. */
  readonly publicJwk: Readonly<JWK>;
}

/** The key file under the data directory, created (mode 0600, directory 0700) on first use. */
export function signingKeyFile(dataDir: string): string {
  return join(dataDir, 'keys', 'oauth-signing.jwk.json');
}

export async function loadOrCreateSigningKey(dataDir: string): Promise<SigningKey> {
  const file = signingKeyFile(dataDir);
  const existing = await readKeyFile(file);
  if (existing !== undefined) return signingKeyFromJwk(existing, file);

  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const created = await generateSigningJwk();
  // Written whole under a private name, then linked into place: `link` fails when the file exists,
  // so of two processes starting at once exactly one wins, and the other never reads half a file.
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(JSON.stringify(created));
    await handle.chmod(0o600);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
    return await signingKeyFromJwk(created, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const winner = await readKeyFile(file);
    if (winner === undefined) throw error;
    return await signingKeyFromJwk(winner, file);
  } finally {
    await unlink(temp);
  }
}

/** A fresh key pair that is kept nowhere (for a process that need not share its tokens). */
export async function generateSigningKey(): Promise<SigningKey> {
  return signingKeyFromJwk(await generateSigningJwk(), 'a generated key');
}

async function generateSigningJwk(): Promise<JWK> {
  const { privateKey } = await generateKeyPair(SIGNING_ALGORITHM, { extractable: true });
  const jwk = await exportJWK(privateKey);
  // The RFC 7638 thumbprint: the same key always has the same kid, whichever process reads it.
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  return { ...jwk, kid, alg: SIGNING_ALGORITHM, use: 'sig' };
}

async function readKeyFile(file: string): Promise<JWK | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as JWK;
  } catch {
    throw new Error(`${file} is not a JSON Web Key: remove it to have a new signing key created`);
  }
}

async function signingKeyFromJwk(jwk: JWK, where: string): Promise<SigningKey> {
  const { kty, crv, x, y, d, kid } = jwk;
  if (kty !== 'EC' || crv !== 'P-256' || !x || !y || !d || !kid) {
    throw new Error(`${where} is not a private P-256 key with a kid: remove it to have a new one created`);
  }
  const publicJwk = Object.freeze({ kty, crv, x, y, kid, alg: SIGNING_ALGORITHM, use: 'sig' });
  const [privateKey, publicKey] = await Promise.all([
    importJWK({ kty, crv, x, y, d }, SIGNING_ALGORITHM),
    importJWK({ kty, crv, x, y }, SIGNING_ALGORITHM),
  ]);
  if (!isCryptoKey(privateKey) || !isCryptoKey(publicKey)) throw new Error(`${where}: not an EC key`);
  return { kid, privateKey, publicKey, publicJwk };
}

function isCryptoKey(key: CryptoKey | Uint8Array): key is CryptoKey {
  return !(key instanceof Uint8Array);
}
