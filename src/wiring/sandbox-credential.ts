/**
 * The credential the gateway's own connections present to the built-in sandbox EHR, which, like
 * every route, needs one (`sandbox:admin`). It is derived from the data-at-rest key rather than
 * stored: every process sharing that key (API, workers, the CLI) derives the same one, and nothing
 * new has to be kept secret.
 */
import { createHmac } from 'node:crypto';
import { loadOrCreateKey } from '../../adapters/redis/record-cipher';
import type { Config } from '../config/load-config';
import type { Principal } from '../domain/access';
import type { BuiltInCredential } from '../use-cases/client-authentication';

export function sandboxCredential(config: Config): string {
  return deriveSandboxCredential(loadOrCreateKey(config.encryption.key, config.dataDir));
}

/** The same credential from the data-at-rest key itself (32 bytes). */
export function deriveSandboxCredential(dataKey: Buffer): string {
  return `cs_${createHmac('sha256', dataKey).update('continuum sandbox connection credential v1').digest('base64url')}`;
}

export function sandboxBuiltInCredential(config: Config): BuiltInCredential {
  const principal: Principal = {
    clientId: 'continuum-sandbox-connection',
    tenant: config.auth.adminTenant,
    scopes: new Set(['sandbox:admin']),
    method: 'api-key',
  };
  return { secret: sandboxCredential(config), principal };
}
