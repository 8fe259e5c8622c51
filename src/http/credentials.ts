/**
 * The credential a request carries: `Authorization: Bearer` (an API key or an access token),
 * `Authorization: Basic` (client id and secret: Twilio Studio and Genesys data actions can do
 * only Basic or custom headers) or `X-API-Key`.
 */
import type { Request } from 'express';
import type { Credential } from '../use-cases/client-authentication';

export type CredentialParse =
  | { readonly kind: 'none' }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'present'; readonly credential: Credential };

const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*$/;
const MAX_CREDENTIAL = 8192;

function parseBasic(encoded: string): CredentialParse {
  if (!TOKEN68.test(encoded)) return { kind: 'malformed', reason: 'Basic credentials must be base64' };
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0 || colon === decoded.length - 1) {
    return { kind: 'malformed', reason: 'Basic credentials must be client-id:secret' };
  }
  return {
    kind: 'present',
    credential: { kind: 'basic', clientId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) },
  };
}

export function credentialOf(req: Request): CredentialParse {
  const authorization = req.get('authorization');
  const apiKey = req.get('x-api-key');
  if (authorization === undefined && apiKey === undefined) return { kind: 'none' };
  if (authorization !== undefined && apiKey !== undefined) {
    return { kind: 'malformed', reason: 'send one credential: Authorization or X-API-Key, not both' };
  }
  if (apiKey !== undefined) {
    const value = apiKey.trim();
    if (value === '' || value.length > MAX_CREDENTIAL || !TOKEN68.test(value)) {
      return { kind: 'malformed', reason: 'X-API-Key is not a key' };
    }
    return { kind: 'present', credential: { kind: 'api-key', value } };
  }
  const [scheme = '', value = '', ...rest] = (authorization ?? '').trim().split(/\s+/);
  if (rest.length > 0 || value === '' || value.length > MAX_CREDENTIAL) {
    return {
      kind: 'malformed',
      reason: 'Authorization must be "Bearer <key or token>" or "Basic <credentials>"',
    };
  }
  switch (scheme.toLowerCase()) {
    case 'bearer':
      return TOKEN68.test(value)
        ? { kind: 'present', credential: { kind: 'bearer', value } }
        : { kind: 'malformed', reason: 'the bearer value is not a key or a token' };
    case 'basic':
      return parseBasic(value);
    default:
      return { kind: 'malformed', reason: 'Authorization must use the Bearer or Basic scheme' };
  }
}
