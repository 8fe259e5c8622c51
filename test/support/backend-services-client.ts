/**
 * A SMART Backend Services client as an EHR sees one: key pairs whose public halves it publishes
 * as a JWKS on 127.0.0.1 (an express app, as a real client's JWKS URL would be served), signed
 * client assertions, and the form-encoded token requests of RFC 6749.
 */
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';

export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export interface SigningKey {
  readonly kid: string;
  readonly alg: string;
  readonly privateKey: CryptoKey;
  readonly publicJwk: JWK;
}

export async function signingKey(alg: string, kid: string): Promise<SigningKey> {
  const pair = await generateKeyPair(alg, { extractable: true });
  return {
    kid,
    alg,
    privateKey: pair.privateKey,
    publicJwk: { ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' },
  };
}

export interface JwksHost {
  readonly url: string;
  /** Keys served from now on (a rotation). */
  publish(keys: readonly SigningKey[]): void;
  /** How many times the JWKS was fetched. */
  fetches(): number;
  close(): Promise<void>;
}

export async function hostJwks(keys: readonly SigningKey[]): Promise<JwksHost> {
  let published = keys.map((k) => k.publicJwk);
  let fetched = 0;
  const app = express();
  app.get('/jwks.json', (_req, res) => {
    fetched += 1;
    res.json({ keys: published });
  });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/jwks.json`,
    publish: (next) => {
      published = next.map((k) => k.publicJwk);
    },
    fetches: () => fetched,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

export interface AssertionOptions {
  readonly clientId: string;
  readonly audience: string;
  readonly key: SigningKey;
  /** Header overrides: `kid: undefined` drops the kid; `alg` signs as another algorithm. */
  readonly header?: { readonly kid?: string | undefined; readonly alg?: string };
  readonly issuer?: string;
  readonly subject?: string;
  /** Seconds from now; default 240. */
  readonly expiresIn?: number;
  /** Seconds from now of `iat`; default 0. */
  readonly issuedAt?: number;
  readonly jti?: string;
  /** Claims to leave out altogether. */
  readonly omit?: readonly ('exp' | 'jti')[];
}

export async function clientAssertion(options: AssertionOptions): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const header: { alg: string; kid?: string; typ: string } = {
    alg: options.header?.alg ?? options.key.alg,
    typ: 'JWT',
  };
  const kid = options.header && 'kid' in options.header ? options.header.kid : options.key.kid;
  if (kid !== undefined) header.kid = kid;
  const omit = new Set(options.omit ?? []);
  const jwt = new SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(options.issuer ?? options.clientId)
    .setSubject(options.subject ?? options.clientId)
    .setAudience(options.audience)
    .setIssuedAt(now + (options.issuedAt ?? 0));
  if (!omit.has('exp')) jwt.setExpirationTime(now + (options.expiresIn ?? 240));
  if (!omit.has('jti')) jwt.setJti(options.jti ?? randomUUID());
  return jwt.sign(options.key.privateKey);
}

export interface TokenAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
}

/** POSTs a form to a token endpoint; `headers` may carry Basic client authentication. */
export async function requestToken(
  tokenUrl: string,
  form: Readonly<Record<string, string>>,
  headers: Readonly<Record<string, string>> = {},
): Promise<TokenAnswer> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

export function assertionForm(assertion: string, scope?: string): Record<string, string> {
  return {
    grant_type: 'client_credentials',
    client_assertion_type: JWT_BEARER,
    client_assertion: assertion,
    ...(scope !== undefined ? { scope } : {}),
  };
}
