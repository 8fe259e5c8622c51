/**
 * E.164 number -> patient ids, per EHR connection. Many EHRs cannot search by phone, or match
 * only the exact stored text, so Continuum keeps its own index, fed by every read and write.
 * Numbers are stored as keyed hashes (blind index): Redis never holds a phone number in clear.
 */
import type { Redis } from 'ioredis';
import type { PhoneIndex } from '../../src/domain/ports';
import type { RecordCipher } from './record-cipher';

export interface RedisPhoneIndexOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly cipher: RecordCipher;
  /** Entries not refreshed by a read or write for this long are forgotten. */
  readonly ttlSeconds: number;
}

export function createRedisPhoneIndex(options: RedisPhoneIndexOptions): PhoneIndex {
  const { redis, prefix, cipher, ttlSeconds } = options;
  const numberKey = (connection: string, e164: string): string =>
    `${prefix}:phone:${connection}:${cipher.blind(e164)}`;
  const patientKey = (connection: string, patientId: string): string =>
    `${prefix}:patient-phones:${connection}:${patientId}`;

  async function remember(connection: string, patientId: string, numbers: readonly string[]): Promise<void> {
    if (numbers.length === 0) return;
    const multi = redis.multi();
    for (const e164 of numbers) {
      const key = numberKey(connection, e164);
      multi.sadd(key, patientId);
      multi.expire(key, ttlSeconds);
      multi.sadd(patientKey(connection, patientId), cipher.blind(e164));
    }
    multi.expire(patientKey(connection, patientId), ttlSeconds);
    await multi.exec();
  }

  return {
    remember,

    async replace(connection, patientId, numbers) {
      const key = patientKey(connection, patientId);
      const previous = await redis.smembers(key);
      const current = new Set(numbers.map((n) => cipher.blind(n)));
      const multi = redis.multi();
      for (const blinded of previous) {
        if (!current.has(blinded)) {
          multi.srem(`${prefix}:phone:${connection}:${blinded}`, patientId);
          multi.srem(key, blinded);
        }
      }
      await multi.exec();
      await remember(connection, patientId, numbers);
    },

    async find(connection, e164) {
      const ids = await redis.smembers(numberKey(connection, e164));
      return ids.sort();
    },
  };
}
