/** How the sandbox authenticates FHIR clients when asked to behave like an EHR that requires OAuth. */
export type SandboxAuthMode = 'none' | 'client-credentials' | 'smart-backend';

/** Signing algorithms a SMART Backend Services client may use (the two the specification names). */
export const ASSERTION_ALGORITHMS = ['RS384', 'ES384'] as const;
export type AssertionAlgorithm = (typeof ASSERTION_ALGORITHMS)[number];

export interface SandboxAuthOptions {
  readonly mode: SandboxAuthMode;
  /** Lifetime of an issued access token, in seconds. */
  readonly tokenLifetimeSeconds: number;
  /** The one registered client. */
  readonly clientId?: string | undefined;
  /** client-credentials: its secret (client_secret_basic or client_secret_post). */
  readonly clientSecret?: string | undefined;
  /** smart-backend: where its public keys are published; fetched and cached as an EHR would. */
  readonly jwksUrl?: string | undefined;
  /** smart-backend: the algorithms its assertions may be signed with. */
  readonly algorithms?: readonly AssertionAlgorithm[] | undefined;
  /** Scopes the client may be granted (SMART v1 `system/Patient.read` or v2 `system/*.cruds`). */
  readonly scopes?: readonly string[] | undefined;
}

export const DEFAULT_TOKEN_LIFETIME_SECONDS = 300;
/** Every resource, every interaction: a v1 request (`system/*.read`) is covered as well as a v2 one. */
export const DEFAULT_GRANTABLE_SCOPES: readonly string[] = ['system/*.cruds'];

/** Throws with a sentence naming what is missing: a sandbox asked to require OAuth must know its client. */
export function checkSandboxAuthOptions(options: SandboxAuthOptions): void {
  if (options.mode === 'none') return;
  if (!options.clientId) throw new Error(`sandbox auth mode ${options.mode} needs a clientId`);
  if (options.mode === 'client-credentials' && !options.clientSecret) {
    throw new Error('sandbox auth mode client-credentials needs a clientSecret');
  }
  if (options.mode === 'smart-backend' && !options.jwksUrl) {
    throw new Error('sandbox auth mode smart-backend needs a jwksUrl');
  }
  if (!Number.isInteger(options.tokenLifetimeSeconds) || options.tokenLifetimeSeconds < 1) {
    throw new Error('sandbox auth tokenLifetimeSeconds must be a whole number of seconds, 1 or more');
  }
}
