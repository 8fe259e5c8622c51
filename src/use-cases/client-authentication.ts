/**
 * Who is calling: an API key (Bearer or X-API-Key), a client id and secret (HTTP Basic), or a
 * signed access token (the gateway's own, or a center's identity provider's). The answer is a
 * principal, or undefined for a credential that names no active client.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AuthMethod, ClientInfo, ClientRegistry, Principal, TokenService } from '../domain/access';

export type Credential =
  | { readonly kind: 'bearer'; readonly value: string }
  | { readonly kind: 'api-key'; readonly value: string }
  | { readonly kind: 'basic'; readonly clientId: string; readonly secret: string };

/** A credential the gateway gives itself, such as its connection's to the built-in sandbox EHR. */
export interface BuiltInCredential {
  readonly secret: string;
  readonly principal: Principal;
}

export interface ClientAuthenticationDeps {
  readonly registry: ClientRegistry;
  readonly tokens: TokenService;
  readonly builtIn: readonly BuiltInCredential[];
}

export function principalOf(client: ClientInfo, method: AuthMethod): Principal {
  return { clientId: client.id, tenant: client.tenant, scopes: new Set(client.scopes), method };
}

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

function builtInMatch(builtIn: readonly BuiltInCredential[], secret: string): Principal | undefined {
  const presented = digest(secret);
  // Every entry is compared, in constant time, so timing says nothing about which one matched.
  let found: Principal | undefined;
  for (const entry of builtIn) {
    if (timingSafeEqual(digest(entry.secret), presented)) found = entry.principal;
  }
  return found;
}

/** Throws UNAUTHORIZED for a token that is a JWT but fails verification. */
export async function authenticateCredential(
  deps: ClientAuthenticationDeps,
  credential: Credential,
): Promise<Principal | undefined> {
  switch (credential.kind) {
    case 'basic': {
      const client = await deps.registry.authenticate(credential.secret, credential.clientId);
      return client && principalOf(client, 'basic');
    }
    case 'api-key': {
      const client = await deps.registry.authenticate(credential.value);
      return client ? principalOf(client, 'api-key') : builtInMatch(deps.builtIn, credential.value);
    }
    case 'bearer': {
      const fromToken = await deps.tokens.verify(credential.value);
      if (fromToken) return fromToken;
      const client = await deps.registry.authenticate(credential.value);
      return client ? principalOf(client, 'api-key') : builtInMatch(deps.builtIn, credential.value);
    }
  }
}
