/**
 * Crisis activations in Redis, one hash per tenant (id -> JSON), and the time each was ended in a
 * second hash written with HSETNX, so two processes ending the same activation at once agree on
 * who did it first. Messages and titles are operational text, not PHI: stored in the clear.
 */
import type { Redis } from 'ioredis';
import type { Activation, ActivationStore } from '../../src/domain/activation';
import { luaScript } from './lua-script';

// KEYS: activations hash, idempotency key. ARGV: id, record JSON, key TTL (s).
// Returns the id of the activation the key already named, or '' when this one was stored.
const CREATE = luaScript(`
if KEYS[2] ~= '' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return earlier end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', tonumber(ARGV[3]))
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return ''
`);

/** A retried create is answered from its key for this long. */
const IDEMPOTENCY_TTL_SECONDS = 24 * 3600;

type Stored = Omit<Activation, 'endedAt' | 'endedBy'>;

export function createRedisActivationStore(options: {
  readonly redis: Redis;
  readonly prefix: string;
}): ActivationStore {
  const { redis, prefix } = options;
  const records = (tenant: string): string => `${prefix}:crisis:activations:${tenant}`;
  const ends = (tenant: string): string => `${prefix}:crisis:activation-ends:${tenant}`;
  const keyOf = (tenant: string, key: string): string => `${prefix}:crisis:activation-keys:${tenant}:${key}`;

  const merge = (json: string, ended: string | null): Activation => {
    const stored = JSON.parse(json) as Stored;
    const [endedAt, endedBy] = ended === null ? [undefined, undefined] : ended.split('|');
    return { ...stored, endedAt, endedBy };
  };

  return {
    async create(activation, idempotencyKey) {
      const { endedAt: _endedAt, endedBy: _endedBy, ...stored } = activation;
      const earlier = (await CREATE.run(
        redis,
        [
          records(activation.tenant),
          idempotencyKey === undefined ? '' : keyOf(activation.tenant, idempotencyKey),
        ],
        [activation.id, JSON.stringify(stored), IDEMPOTENCY_TTL_SECONDS],
      )) as string;
      return earlier === '' ? { created: true, id: activation.id } : { created: false, id: earlier };
    },
    async list(tenant) {
      const [all, ended] = await Promise.all([redis.hgetall(records(tenant)), redis.hgetall(ends(tenant))]);
      return Object.entries(all).map(([id, json]) => merge(json, ended[id] ?? null));
    },
    async get(tenant, id) {
      const [json, ended] = await Promise.all([
        redis.hget(records(tenant), id),
        redis.hget(ends(tenant), id),
      ]);
      return json === null ? undefined : merge(json, ended);
    },
    async end(tenant, id, at, by) {
      if ((await redis.hexists(records(tenant), id)) === 0) return undefined;
      const changed = (await redis.hsetnx(ends(tenant), id, `${at}|${by}`)) === 1;
      const activation = await this.get(tenant, id);
      return activation === undefined ? undefined : { activation, changed };
    },
  };
}
