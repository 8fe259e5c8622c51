/**
 * `continuum sandbox`'s OAuth flags, read into the same shape and checked by the same schema as the
 * configuration's `sandbox.auth`, so the stand-alone sandbox and the embedded one behave alike.
 */
import { sandboxAuthSchema, type SandboxAuthConfig } from '../config/sandbox-auth-schema';

export const SANDBOX_AUTH_FLAGS = {
  'auth-mode': { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret': { type: 'string' },
  'jwks-url': { type: 'string' },
  'auth-algorithms': { type: 'string' },
  'auth-scopes': { type: 'string' },
  'token-lifetime': { type: 'string' },
} as const;

export const SANDBOX_AUTH_USAGE = `    [--auth-mode none|client-credentials|smart-backend] [--client-id ID]
    [--client-secret S | --jwks-url URL [--auth-algorithms RS384,ES384]]
    [--auth-scopes "system/*.rs system/Appointment.cruds"] [--token-lifetime SECONDS]`;

type Flags = Partial<Record<keyof typeof SANDBOX_AUTH_FLAGS, string>>;

const list = (value: string | undefined): string[] | undefined =>
  value?.split(/[\s,]+/).filter((item) => item !== '');

/** The options, or the sentence saying which flag is wrong (the secret may also come from the environment). */
export function sandboxAuthFromFlags(
  flags: Flags,
  env: NodeJS.ProcessEnv,
): { readonly auth: SandboxAuthConfig } | { readonly error: string } {
  const input = {
    ...(flags['auth-mode'] !== undefined ? { mode: flags['auth-mode'] } : {}),
    ...(flags['client-id'] !== undefined ? { clientId: flags['client-id'] } : {}),
    ...((flags['client-secret'] ?? env.CONTINUUM_SANDBOX_CLIENT_SECRET) !== undefined
      ? { clientSecret: flags['client-secret'] ?? env.CONTINUUM_SANDBOX_CLIENT_SECRET }
      : {}),
    ...(flags['jwks-url'] !== undefined ? { jwksUrl: flags['jwks-url'] } : {}),
    ...(flags['auth-algorithms'] !== undefined ? { algorithms: list(flags['auth-algorithms']) } : {}),
    ...(flags['auth-scopes'] !== undefined ? { scopes: list(flags['auth-scopes']) } : {}),
    ...(flags['token-lifetime'] !== undefined ? { tokenLifetimeSeconds: flags['token-lifetime'] } : {}),
  };
  const parsed = sandboxAuthSchema.safeParse(input);
  if (parsed.success) {
    // Alone, the sandbox has no gateway beside it whose JWKS it could default to.
    if (parsed.data.mode === 'smart-backend' && parsed.data.jwksUrl === undefined) {
      return { error: '--jwks-url: is required with mode smart-backend' };
    }
    return { auth: parsed.data };
  }
  const flagOf: Record<string, string> = {
    mode: '--auth-mode',
    clientId: '--client-id',
    clientSecret: '--client-secret',
    jwksUrl: '--jwks-url',
    algorithms: '--auth-algorithms',
    scopes: '--auth-scopes',
    tokenLifetimeSeconds: '--token-lifetime',
  };
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? '');
  return { error: `${flagOf[key] ?? key}: ${issue?.message ?? 'is not valid'}` };
}
