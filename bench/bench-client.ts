/**
 * The client the benchmarks call the gateway as. It is registered the way an operator registers a
 * call center's integration: through the client registry, on the gateway's Redis under the
 * gateway's key prefix, with only the scopes the workload needs (lookups, patient writes, the
 * status the drain polls). Every request to the gateway presents its key; nothing goes around
 * access control.
 */
import type { Redis } from 'ioredis';
import { createRedisClientRegistry } from '../adapters/redis/client-registry';
import type { ClientInfo, Scope } from '../src/domain/access';
import type { Logger } from '../src/domain/ports';

export const BENCH_SCOPES: readonly Scope[] = ['patients:read', 'patients:write', 'operations:read'];

export interface BenchClient {
  readonly client: ClientInfo;
  readonly key: string;
  /** The `Authorization` header value every request to the gateway carries. */
  readonly authorization: string;
}

export async function registerBenchClient(options: {
  readonly redis: Redis;
  /** The gateway's hash-tagged prefix, `{<redis.keyPrefix>}`. */
  readonly prefix: string;
  readonly tenant: string;
  readonly logger: Logger;
  /** Default: BENCH_SCOPES. */
  readonly scopes?: readonly Scope[];
}): Promise<BenchClient> {
  const registry = createRedisClientRegistry({
    redis: options.redis,
    prefix: options.prefix,
    logger: options.logger,
  });
  try {
    const { client, key } = await registry.create({
      name: 'benchmark-load',
      tenant: options.tenant,
      scopes: options.scopes ?? BENCH_SCOPES,
    });
    return { client, key, authorization: `Bearer ${key}` };
  } finally {
    await registry.close();
  }
}

/**
 * Proves the run measures a gateway that checks credentials: a request without one is refused
 * (401), the benchmark client's is served. Throws otherwise, before anything is measured.
 */
export async function checkAccessControl(gatewayUrl: string, bench: BenchClient): Promise<void> {
  const url = `${gatewayUrl}/v1/status`;
  const anonymous = await fetch(url);
  await anonymous.arrayBuffer();
  if (anonymous.status !== 401) {
    throw new Error(`GET /v1/status without a credential answered ${anonymous.status}, not 401`);
  }
  const presented = await fetch(url, { headers: { authorization: bench.authorization } });
  await presented.arrayBuffer();
  if (presented.status !== 200) {
    throw new Error(`GET /v1/status with the benchmark client's key answered ${presented.status}, not 200`);
  }
}
