/**
 * Who may call: clients, their scopes and their tenant. A client belongs to one tenant; a tenant
 * names the EHR connections (and optionally the locations) it may use. Every request to the API
 * carries a principal; use cases confine what they read and write to its tenant.
 */

/**
 * Every scope a route can require. `operations:admin` covers retry, cancel and replay;
 * `patients:lookup` tells only whether a number belongs to one patient and which id, and verifies.
 * `metrics:read` is for a Prometheus scraper: figures of the whole gateway, never PHI.
 * `writes:urgent` is a supervisor's: with it, `Prefer: priority=urgent` puts a write ahead of routine work.
 * `crisis:admin` is a crisis lead's: activations, site closures and the notices they publish.
 * `mappings:write` is an integration engineer's: explain and try profiles on real records, save
 * fixtures and rules, reload. It reads records to show them, so every use is audited.
 */
export const SCOPES = [
  'patients:lookup',
  'patients:read',
  'patients:write',
  'appointments:read',
  'appointments:write',
  'calls:write',
  'operations:read',
  'operations:admin',
  'events:admin',
  'sandbox:admin',
  'audit:read',
  'metrics:read',
  'writes:urgent',
  'crisis:admin',
  'mappings:write',
] as const;

export type Scope = (typeof SCOPES)[number];

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

/** How the caller proved who it is; kept on the principal for logs and the audit trail. */
export type AuthMethod = 'api-key' | 'basic' | 'oauth-token' | 'identity-provider';

export interface Principal {
  /** `cl_...` for a registered client; `<idp>:<subject>` for a token from a center's own identity provider. */
  readonly clientId: string;
  readonly tenant: string;
  readonly scopes: ReadonlySet<Scope>;
  readonly method: AuthMethod;
}

export interface Tenant {
  readonly name: string;
  /** The EHR connections this tenant's clients may use; the first is its default. */
  readonly connections: readonly string[];
  /** When set, the only locations whose slots and appointments this tenant sees. */
  readonly locations: readonly string[] | undefined;
}

/** A client as the registry shows it: never a key, never a key's hash. */
export interface ClientInfo {
  readonly id: string;
  readonly name: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
  readonly createdAt: string;
  readonly revokedAt: string | undefined;
  /** One entry per key that still works or will stop working at `expiresAt` (after a rotation). */
  readonly keys: readonly { readonly createdAt: string; readonly expiresAt: string | undefined }[];
}

export interface NewClient {
  readonly name: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
}

/**
 * Clients and their keys, shared by every process through Redis. Keys are shown once (by `create`
 * and `rotate`) and stored only as hashes.
 */
export interface ClientRegistry {
  create(client: NewClient): Promise<{ readonly client: ClientInfo; readonly key: string }>;
  list(): Promise<readonly ClientInfo[]>;
  /** By id (`cl_...`) or by name. */
  find(idOrName: string): Promise<ClientInfo | undefined>;
  /** Adds scopes to an active client (those it holds already are kept), in every process at once. */
  grant(idOrName: string, scopes: readonly Scope[]): Promise<ClientInfo>;
  /** Every key of the client stops working at once, in every process. */
  revoke(idOrName: string): Promise<ClientInfo>;
  /** A new key; the current ones keep working for `graceSeconds` (0: they stop now). */
  rotate(
    idOrName: string,
    graceSeconds: number,
  ): Promise<{ readonly client: ClientInfo; readonly key: string }>;
  /**
   * The active client this key belongs to (when `clientId` is given, only if it is that client's):
   * undefined for an unknown, revoked or expired key.
   */
  authenticate(key: string, clientId?: string): Promise<ClientInfo | undefined>;
  /** The client if it exists and is not revoked: checked for every token it was issued. */
  active(clientId: string): Promise<ClientInfo | undefined>;
  /** Stops listening for changes. */
  close(): Promise<void>;
}

/** Issues and checks the gateway's own access tokens (OAuth 2.0 client credentials). */
export interface TokenService {
  /** A signed token for the client, with the requested scopes (all of the client's when absent). */
  issue(
    client: ClientInfo,
    requestedScopes: readonly Scope[] | undefined,
  ): Promise<{
    readonly accessToken: string;
    readonly expiresIn: number;
    readonly scopes: readonly Scope[];
  }>;
  /** The public keys, as `/.well-known/jwks.json` serves them. */
  jwks(): { readonly keys: readonly object[] };
  /**
   * The principal a bearer token names, or undefined when the string is not a JWT at all (it may be an
   * API key). A JWT that fails verification (signature, expiry, audience, issuer, revoked client)
   * throws ContinuumError UNAUTHORIZED.
   */
  verify(token: string): Promise<Principal | undefined>;
}
