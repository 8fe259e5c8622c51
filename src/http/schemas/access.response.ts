/** Answers of the token endpoint and the key set; for the OpenAPI document and tests only. */
import { z } from 'zod';

export const tokenRequestSchema = z
  .object({
    grant_type: z.literal('client_credentials'),
    scope: z.string().optional().describe('Space-separated scopes; absent: every scope of the client'),
    client_id: z.string().optional().describe('client_secret_post; or send Basic instead'),
    client_secret: z.string().optional(),
  })
  .describe('OAuth 2.0 client credentials grant (RFC 6749 4.4).');

export const tokenSchema = z.object({
  access_token: z.string(),
  token_type: z.literal('Bearer'),
  expires_in: z.number().int(),
  scope: z.string(),
});

export const oauthErrorSchema = z
  .object({
    error: z.enum(['invalid_request', 'invalid_client', 'unsupported_grant_type', 'invalid_scope']),
    error_description: z.string(),
  })
  .describe('RFC 6749 5.2: OAuth client libraries read `error`.');

export const jwksSchema = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });
