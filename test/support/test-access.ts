/**
 * Access control for an app a test builds itself with `createApp`: a real client registry on the
 * test Redis (under its own prefix), a token service with a key kept nowhere, one `default`
 * tenant with the given connections, and an admin client whose key the test presents.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateSigningKey } from '../../adapters/auth/signing-keys';
import { createTokenService } from '../../adapters/auth/gateway-tokens';
import { createRedisClientRegistry } from '../../adapters/redis/client-registry';
import { SCOPES, type Tenant } from '../../src/domain/access';
import type { Logger } from '../../src/domain/ports';
import type { AccessWiring } from '../../src/wiring/access';
import { deletePrefix, TEST_REDIS_URL } from './redis';

export interface TestAccess {
  readonly access: AccessWiring;
  /** An admin client's key: every scope, tenant `default`. */
  readonly key: string;
  stop(): Promise<void>;
}

export async function startTestAccess(
  logger: Logger,
  options: { readonly connections?: readonly string[] } = {},
): Promise<TestAccess> {
  const keyPrefix = `t-${randomUUID().slice(0, 12)}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const registry = createRedisClientRegistry({ redis, prefix: `{${keyPrefix}}`, logger });
  const tokens = createTokenService({
    signingKey: await generateSigningKey(),
    issuer: 'continuum',
    ttlSeconds: 900,
    registry,
    identityProviders: [],
  });
  const tenant: Tenant = {
    name: 'default',
    connections: options.connections ?? ['sandbox'],
    locations: undefined,
  };
  const { key } = await registry.create({ name: 'admin', tenant: 'default', scopes: SCOPES });
  return {
    access: {
      registry,
      tokens,
      tenants: new Map([['default', tenant]]),
      builtIn: [],
      adminKeyFile: undefined,
    },
    key,
    stop: async () => {
      await registry.close();
      redis.disconnect();
      await deletePrefix(keyPrefix);
    },
  };
}
