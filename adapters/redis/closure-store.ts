/**
 * Site closures in Redis. A record names patients, visit times and places, so it is sealed with
 * the record cipher and bound to its key, as are the per-patient entries the notices are read
 * from. The stop mark lives under its own key: the runner saves its checkpoints without reading
 * it back, and must not be able to erase a stop that landed in between.
 */
import type { Redis } from 'ioredis';
import type {
  ClosureRecord,
  ClosureStore,
  ClosureWindow,
  PatientClosureEntry,
} from '../../src/domain/closure';
import type { RecordCipher } from './record-cipher';

export interface RedisClosureStoreOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: RecordCipher;
  /** How long a closure and what it told patients are kept after their last change. */
  readonly retentionSeconds: number;
}

export function createRedisClosureStore(options: RedisClosureStoreOptions): ClosureStore {
  const { redis, prefix, cipher, retentionSeconds } = options;
  const recordKey = (id: string): string => `${prefix}:closure:${id}`;
  const stopKey = (id: string): string => `${prefix}:closure-stop:${id}`;
  const tenantKey = (tenant: string): string => `${prefix}:closures:tenant:${tenant}`;
  const idemKey = (clientKey: string): string => `${prefix}:closure-key:${clientKey}`;
  const windowsKey = (connection: string): string => `${prefix}:closure-windows:${connection}`;
  const patientKey = (connection: string, patientId: string): string =>
    `${prefix}:closure-patient:${connection}:${patientId}`;

  const seal = (record: ClosureRecord): Buffer => cipher.seal(JSON.stringify(record), recordKey(record.id));
  const open = (id: string, sealed: Buffer): ClosureRecord =>
    JSON.parse(cipher.open(sealed, recordKey(id))) as ClosureRecord;

  const get = async (id: string): Promise<ClosureRecord | undefined> => {
    const sealed = await redis.getBuffer(recordKey(id));
    return sealed === null ? undefined : open(id, sealed);
  };

  return {
    async create(record) {
      const stored = await redis.set(recordKey(record.id), seal(record), 'EX', retentionSeconds, 'NX');
      if (stored === null) {
        const existing = await get(record.id);
        if (existing !== undefined) return { record: existing, created: false };
        // Expired between the two commands: store it now.
        await redis.set(recordKey(record.id), seal(record), 'EX', retentionSeconds);
      }
      const window: ClosureWindow = {
        closureId: record.id,
        locations: record.locations,
        from: record.from,
        to: record.to,
      };
      await redis
        .multi()
        .zadd(tenantKey(record.owner.tenant), Date.parse(record.createdAt), record.id)
        .expire(tenantKey(record.owner.tenant), retentionSeconds)
        .hset(windowsKey(record.connection), record.id, JSON.stringify(window))
        .exec();
      return { record, created: true };
    },
    get,
    async save(record) {
      await redis.set(recordKey(record.id), seal(record), 'EX', retentionSeconds);
    },
    async list(tenant, limit) {
      const ids = await redis.zrevrange(tenantKey(tenant), 0, limit - 1);
      const records = await Promise.all(ids.map((id) => get(id)));
      return records.filter((r): r is ClosureRecord => r !== undefined);
    },
    async claimKey(clientKey, closureId) {
      const key = idemKey(clientKey);
      const set = await redis.set(key, closureId, 'EX', retentionSeconds, 'NX');
      if (set !== null) return closureId;
      return (await redis.get(key)) ?? closureId;
    },
    async keyedClosure(clientKey) {
      return (await redis.get(idemKey(clientKey))) ?? undefined;
    },
    async stop(id, at) {
      const record = await get(id);
      // A stopped closure no longer closes its sites: bookings there are taken again.
      if (record !== undefined) await redis.hdel(windowsKey(record.connection), id);
      await redis.set(stopKey(id), at, 'EX', retentionSeconds, 'NX');
      return (await redis.get(stopKey(id))) ?? at;
    },
    async stoppedAt(id) {
      return (await redis.get(stopKey(id))) ?? undefined;
    },
    async windows(connection) {
      const fields = await redis.hgetall(windowsKey(connection));
      const now = Date.now();
      const windows = Object.values(fields).map((json) => JSON.parse(json) as ClosureWindow);
      const over = windows.filter((w) => Date.parse(w.to) <= now).map((w) => w.closureId);
      if (over.length > 0) await redis.hdel(windowsKey(connection), ...over);
      return windows.filter((w) => Date.parse(w.to) > now);
    },
    async fileForPatient(connection, patientId, entry) {
      const key = patientKey(connection, patientId);
      // One field per closure: two closures filing for one patient at once do not overwrite each other.
      const sealed = cipher.seal(JSON.stringify(entry), `${key}:${entry.closureId}`);
      await redis.multi().hset(key, entry.closureId, sealed).expire(key, retentionSeconds).exec();
    },
    async forPatient(connection, patientId) {
      const key = patientKey(connection, patientId);
      const fields = await redis.hgetallBuffer(key);
      return Object.entries(fields).map(
        ([closureId, sealed]) =>
          JSON.parse(cipher.open(sealed, `${key}:${closureId}`)) as PatientClosureEntry,
      );
    },
  };
}
