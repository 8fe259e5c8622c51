/**
 * E.164 number -> patient ids, per EHR connection. Many EHRs cannot search by phone, or match
 * only the exact stored text, so Continuum keeps its own index, fed by every read and write.
 * Numbers are stored as keyed hashes (blind index): Redis never holds a phone number in clear.
 */
import type { ChainableCommander, Redis } from 'ioredis';
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
  const blindedKey = (connection: string, blinded: string): string =>
    `${prefix}:phone:${connection}:${blinded}`;
  const patientKey = (connection: string, patientId: string): string =>
    `${prefix}:patient-phones:${connection}:${patientId}`;

  /** Queues the commands that link the (blinded) numbers to the patient and refresh their TTL. */
  function link(
    multi: ChainableCommander,
    connection: string,
    patientId: string,
    blindedNumbers: Iterable<string>,
  ): void {
    for (const blinded of blindedNumbers) {
      const key = blindedKey(connection, blinded);
      multi.sadd(key, patientId);
      multi.expire(key, ttlSeconds);
      multi.sadd(patientKey(connection, patientId), blinded);
    }
    multi.expire(patientKey(connection, patientId), ttlSeconds);
  }

  return {
    async remember(connection, patientId, numbers) {
      if (numbers.length === 0) return;
      const multi = redis.multi();
      link(
        multi,
        connection,
        patientId,
        numbers.map((n) => cipher.blind(n)),
      );
      await multi.exec();
    },

    async replace(connection, patientId, numbers) {
      const key = patientKey(connection, patientId);
      const previous = await redis.smembers(key);
      const current = new Set(numbers.map((n) => cipher.blind(n)));
      // One transaction unlinks the old numbers and links the new ones: a lookup finds the patient
      // under the old set or the new one, never under none.
      const multi = redis.multi();
      for (const blinded of previous) {
        if (!current.has(blinded)) {
          multi.srem(blindedKey(connection, blinded), patientId);
          multi.srem(key, blinded);
        }
      }
      link(multi, connection, patientId, current);
      await multi.exec();
    },

    async find(connection, e164) {
      const ids = await redis.smembers(blindedKey(connection, cipher.blind(e164)));
      return ids.sort();
    },
  };
}
