/**
 * A private signing key for SMART client assertions, from PEM (PKCS#8, SEC1 or PKCS#1) or a JWK,
 * checked against the algorithm it will sign with: ES384 needs a P-384 key, RS384 an RSA key of
 * 2048 bits or more (what Epic and Oracle Health accept).
 */
import { createPrivateKey, createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

export type EhrSigningAlgorithm = 'ES384' | 'RS384';

export interface EhrSigningKey {
  readonly kid: string;
  readonly alg: EhrSigningAlgorithm;
  readonly privateKey: KeyObject;
  /** As the JWKS lists it: `kty`, the public parameters, `kid`, `alg`, `use: sig`; never `d`, `p`, `q`. */
  readonly publicJwk: Readonly<JWK>;
}

/** Public JWK members by key type (RFC 7518 section 6): everything else is private or not ours to publish. */
const PUBLIC_MEMBERS: Record<string, readonly string[]> = {
  EC: ['kty', 'crv', 'x', 'y'],
  RSA: ['kty', 'n', 'e'],
};

export class PrivateKeyError extends Error {
  override readonly name = 'PrivateKeyError';
}

/**
 * @param text - PEM, or a JWK as JSON.
 * @param alg - the algorithm the key signs with.
 * @param where - names the key's source in errors (a file name, a config key); never the key.
 */
export async function importEhrSigningKey(
  text: string,
  alg: EhrSigningAlgorithm,
  where: string,
): Promise<EhrSigningKey> {
  let privateKey: KeyObject;
  let givenKid: string | undefined;
  const trimmed = text.trim();
  try {
    if (trimmed.startsWith('{')) {
      const jwk = JSON.parse(trimmed) as JsonWebKey & { kid?: unknown };
      givenKid = typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk.kid : undefined;
      privateKey = createPrivateKey({ key: jwk, format: 'jwk' });
    } else {
      privateKey = createPrivateKey(trimmed);
    }
  } catch {
    // Not the parser's message: it may quote part of the key.
    throw new PrivateKeyError(`${where}: not a private key in PEM or JWK form`);
  }
  const details = privateKey.asymmetricKeyDetails;
  if (alg === 'ES384' && (privateKey.asymmetricKeyType !== 'ec' || details?.namedCurve !== 'secp384r1')) {
    throw new PrivateKeyError(`${where}: ES384 needs an EC P-384 private key`);
  }
  if (alg === 'RS384' && (privateKey.asymmetricKeyType !== 'rsa' || (details?.modulusLength ?? 0) < 2048)) {
    throw new PrivateKeyError(`${where}: RS384 needs an RSA private key of 2048 bits or more`);
  }
  const full = createPublicKey(privateKey).export({ format: 'jwk' }) as Record<string, unknown>;
  const members = PUBLIC_MEMBERS[String(full.kty)] ?? [];
  const publicParts = Object.fromEntries(members.map((m) => [m, full[m]])) as JWK;
  // The RFC 7638 thumbprint: the same key always has the same kid, in every process.
  const kid = givenKid ?? (await calculateJwkThumbprint(publicParts, 'sha256'));
  return {
    kid,
    alg,
    privateKey,
    publicJwk: Object.freeze({ ...publicParts, kid, alg, use: 'sig' }),
  };
}
