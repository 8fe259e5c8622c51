/**
 * The signed JWT a SMART Backend Services client authenticates with (`private_key_jwt`,
 * RFC 7523): `iss` = `sub` = the client id, `aud` = the token URL, a unique `jti`, and an expiry
 * within five minutes, as the SMART specification requires and Epic enforces.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { EhrSigningKey } from './private-key';

/** Lifetime of an assertion: used at once, so well under the five minutes allowed. */
const ASSERTION_SECONDS = 240;

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function signClientAssertion(options: {
  readonly clientId: string;
  readonly tokenUrl: string;
  readonly key: EhrSigningKey;
  readonly now?: number;
}): Promise<string> {
  const issuedAt = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: options.key.alg, kid: options.key.kid, typ: 'JWT' })
    .setIssuer(options.clientId)
    .setSubject(options.clientId)
    .setAudience(options.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + ASSERTION_SECONDS)
    .sign(options.key.privateKey);
}
