/** Who may call: the client registry, the token service, and the credentials the gateway gives itself. */
import { loadOrCreateSigningKey } from '../../adapters/auth/signing-keys';
import { createTokenService } from '../../adapters/auth/gateway-tokens';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import type { Config } from '../config/load-config';
import type { ClientRegistry, Tenant, TokenService } from '../domain/access';
import type { Logger } from '../domain/ports';
import type { BuiltInCredential } from '../use-cases/client-authentication';
import { ensureAdminClient } from './admin-client';
import type { Closeables } from './closeables';
import type { RedisWiring } from './redis';
import { sandboxBuiltInCredential } from './sandbox-credential';

export interface AccessWiring {
  readonly registry: ClientRegistry;
  readonly tokens: TokenService;
  readonly tenants: ReadonlyMap<string, Tenant>;
  readonly builtIn: readonly BuiltInCredential[];
  /** Set when this start created the admin client: the file its key was written to. */
  readonly adminKeyFile: string | undefined;
}

export async function buildAccess(
  config: Config,
  redis: Pick<RedisWiring, 'client' | 'prefix'>,
  logger: Logger,
  closeables: Closeables,
  /** The EHR signing keys, published beside the gateway's own (EHRs register the gateway by this JWKS URL). */
  ehrKeys?: { publicJwks(): readonly object[] },
): Promise<AccessWiring> {
  const registry = createRedisClientRegistry({
    redis: redis.client,
    prefix: redis.prefix,
    logger: logger.child({ component: 'clients' }),
  });
  closeables.add('redis', 'client registry', () => registry.close());
  const adminKeyFile = await ensureAdminClient(registry, config, logger);
  const ownTokens = createTokenService({
    signingKey: await loadOrCreateSigningKey(config.dataDir),
    issuer: config.auth.issuer,
    ttlSeconds: config.auth.tokenTtlSeconds,
    registry,
    identityProviders: config.auth.identityProviders,
  });
  const tokens: TokenService =
    ehrKeys === undefined
      ? ownTokens
      : { ...ownTokens, jwks: () => ({ keys: [...ownTokens.jwks().keys, ...ehrKeys.publicJwks()] }) };
  return {
    registry,
    tokens,
    tenants: new Map(Object.values(config.tenants).map((t) => [t.name, t])),
    builtIn: config.sandbox.enabled ? [sandboxBuiltInCredential(config)] : [],
    adminKeyFile,
  };
}
