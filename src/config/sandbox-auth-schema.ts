/**
 * `sandbox.auth`: make the built-in sandbox EHR require OAuth tokens like a real EHR (client
 * credentials with a secret, or SMART Backend Services with a signed assertion checked against the
 * client's JWKS URL). Off by default, so `npm start` needs no set-up.
 */
import { z } from 'zod';

const num = <T extends z.ZodNumber>(inner: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    inner,
  );

const httpUrl = () =>
  z.string().refine((value) => {
    try {
      return ['http:', 'https:'].includes(new URL(value).protocol);
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');

export const sandboxAuthSchema = z
  .object({
    mode: z.enum(['none', 'client-credentials', 'smart-backend']).default('none'),
    /** Lifetime of the access tokens the sandbox issues, in seconds (EHRs give 5 to 60 minutes). */
    tokenLifetimeSeconds: num(z.number().int().min(1).max(86_400)).default(300),
    /** The client registered with the sandbox (the gateway's own connection signs in as it). */
    clientId: z.string().min(1).default('continuum'),
    /** client-credentials: its secret, taken by client_secret_basic and client_secret_post. */
    clientSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    /** smart-backend: the client's JWKS URL. Absent: this gateway's own /.well-known/jwks.json. */
    jwksUrl: httpUrl().optional(),
    /** smart-backend: algorithms its assertions may use. */
    algorithms: z
      .array(z.enum(['RS384', 'ES384']))
      .min(1)
      .default(['RS384', 'ES384']),
    /** Scopes the client may be granted, SMART v1 or v2 (`system/*.read`, `system/Patient.rs`). */
    scopes: z.array(z.string().regex(/^\S+$/, 'one scope, no spaces')).min(1).default(['system/*.cruds']),
  })
  .strict()
  .superRefine((auth, ctx) => {
    const need = (key: 'clientSecret'): void => {
      if (auth[key] === undefined) {
        ctx.addIssue({ code: 'custom', path: [key], message: `is required with mode ${auth.mode}` });
      }
    };
    if (auth.mode === 'client-credentials') need('clientSecret');
  })
  .prefault({});

export type SandboxAuthConfig = z.output<typeof sandboxAuthSchema>;
