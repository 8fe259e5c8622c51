/**
 * How the gateway signs in to one EHR (`connections.<name>.auth`): nothing, a static Basic or
 * Bearer credential, OAuth 2.0 client credentials with a secret, or SMART Backend Services
 * (client credentials with a signed JWT assertion, `private_key_jwt`).
 */
import { z } from 'zod';

/**
 * A SMART system scope: v1 `system/Patient.read` (`read`, `write`, `*`) or v2 `system/Patient.rs`
 * (the letters c, r, u, d, s in that order), on a resource type or `*`, optionally narrowed by a
 * v2 query (`system/Observation.rs?category=laboratory`).
 */
const SMART_SYSTEM_SCOPE = /^system\/(\*|[A-Z][A-Za-z]+)\.(read|write|\*|c?r?u?d?s?)(\?[^\s]+)?$/;

function isSmartSystemScope(scope: string): boolean {
  const match = SMART_SYSTEM_SCOPE.exec(scope);
  // `c?r?u?d?s?` also matches nothing at all: `system/Patient.` is not a scope.
  return match !== null && match[2] !== '';
}

const clientId = z
  .string({ error: 'required: the client id the EHR registered the gateway under' })
  .min(1, 'required: the client id the EHR registered the gateway under');

const smartScopes = z
  .array(
    z
      .string()
      .refine(
        isSmartSystemScope,
        'must be a SMART system scope such as system/Patient.read (v1) or system/Patient.rs (v2)',
      ),
  )
  .min(1, 'name at least one scope, such as system/Patient.read');

/** Scopes as an OAuth server takes them: any tokens without spaces (Medplum, vendor accounts). */
const plainScopes = z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'must be one scope, no spaces'));

/** https, or http on loopback: a token endpoint reached over plain http would hand the token to anyone on the path. */
const tokenUrl = z.url('must be a URL');

export const EHR_SIGNING_ALGORITHMS = ['ES384', 'RS384'] as const;

const smartBackendSchema = z
  .object({
    type: z.literal('smart-backend'),
    /** The client id the EHR gave this gateway when it was registered (Epic: the app's Non-Production or Production Client ID). */
    clientId,
    scopes: smartScopes,
    /** Absent: `token_endpoint` of `<baseUrl>/.well-known/smart-configuration`. */
    tokenUrl: tokenUrl.optional(),
    /** How the client assertion is signed; both are what Epic and Oracle Health accept. */
    algorithm: z.enum(EHR_SIGNING_ALGORITHMS, { error: 'must be ES384 or RS384' }).default('ES384'),
    /** A private key (PEM or JWK) in a file. Absent, with no `privateKey`: the keys of `continuum ehr-keys`. */
    privateKeyFile: z.string().min(1).optional(),
    /** A private key (PEM or JWK JSON) given inline, e.g. `${EHR_PRIVATE_KEY}`. */
    privateKey: z.string().min(1).optional(),
  })
  .strict()
  .refine((auth) => auth.privateKey === undefined || auth.privateKeyFile === undefined, {
    path: ['privateKey'],
    message: 'give privateKey or privateKeyFile, not both',
  });

const clientCredentialsSchema = z
  .object({
    type: z.literal('client-credentials'),
    clientId,
    /** Use `${ENV}`: never write the secret itself into the file. */
    clientSecret: z.string().min(1).optional(),
    /** A file holding only the secret (a mounted Kubernetes or Docker secret); re-read when it changes. */
    clientSecretFile: z.string().min(1).optional(),
    /** How the secret is sent: HTTP Basic (RFC 6749's default) or form fields. */
    method: z
      .enum(['client_secret_basic', 'client_secret_post'], {
        error: 'must be client_secret_basic or client_secret_post',
      })
      .default('client_secret_basic'),
    scopes: plainScopes.default([]),
    /** Absent: `token_endpoint` of `<baseUrl>/.well-known/smart-configuration`. */
    tokenUrl: tokenUrl.optional(),
  })
  .strict()
  .superRefine((auth, ctx) => {
    const given = [auth.clientSecret, auth.clientSecretFile].filter((v) => v !== undefined).length;
    if (given !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['clientSecret'],
        message:
          given === 0 ? 'required (or clientSecretFile)' : 'give clientSecret or clientSecretFile, not both',
      });
    }
  });

export const ehrAuthSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('none') }).strict(),
  z.object({ type: z.literal('basic'), username: z.string().min(1), password: z.string().min(1) }).strict(),
  z.object({ type: z.literal('bearer'), token: z.string().min(1) }).strict(),
  clientCredentialsSchema,
  smartBackendSchema,
]);

export type EhrAuthConfig = z.infer<typeof ehrAuthSchema>;
export type SmartBackendAuthConfig = Extract<EhrAuthConfig, { type: 'smart-backend' }>;
export type ClientCredentialsAuthConfig = Extract<EhrAuthConfig, { type: 'client-credentials' }>;
