/**
 * Clients of a test's gateway and the credentials they present: an API key as Bearer or X-API-Key,
 * Basic client id and key, or an access token from the gateway's own POST /oauth/token.
 */
import type { Express } from 'express';
import request from 'supertest';
import type { Scope } from '../../src/domain/access';
import type { AccessWiring } from '../../src/wiring/access';

export interface TestClient {
  readonly id: string;
  readonly key: string;
}

export type CredentialMethod = 'bearer' | 'x-api-key' | 'basic' | 'token';

export async function createClient(
  access: AccessWiring,
  name: string,
  tenant: string,
  scopes: readonly Scope[],
): Promise<TestClient> {
  const { client, key } = await access.registry.create({ name, tenant, scopes });
  return { id: client.id, key };
}

export function basicHeader(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

/** An access token for the client (all its scopes, or those named), from POST /oauth/token. */
export async function accessToken(
  app: Express,
  client: TestClient,
  scopes?: readonly Scope[],
): Promise<string> {
  const res = await request(app)
    .post('/oauth/token')
    .set('authorization', basicHeader(client.id, client.key))
    .type('form')
    .send({ grant_type: 'client_credentials', ...(scopes ? { scope: scopes.join(' ') } : {}) });
  const body = res.body as { access_token?: unknown };
  if (res.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`no access token for ${client.id}: ${res.status} ${res.text}`);
  }
  return body.access_token;
}

/** The headers that present `client` by `method`; `token` must be given for the token method. */
export function credentialHeaders(
  method: CredentialMethod,
  client: TestClient,
  token?: string,
): Record<string, string> {
  switch (method) {
    case 'bearer':
      return { authorization: `Bearer ${client.key}` };
    case 'x-api-key':
      return { 'x-api-key': client.key };
    case 'basic':
      return { authorization: basicHeader(client.id, client.key) };
    case 'token':
      if (token === undefined) throw new Error('the token method needs a token');
      return { authorization: `Bearer ${token}` };
  }
}
