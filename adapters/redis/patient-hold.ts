/**
 * Failed identity verifications per patient, across every caller and client, in Redis: past the
 * limit within a window, verification of that patient is held for a while. Patient keys name the
 * connection and the patient; only their keyed hash reaches a Redis key name.
 */
import type { Redis } from 'ioredis';
import type { PatientHold, PatientHoldStarted, PatientHoldState } from '../../src/domain/ports';
import type { RecordCipher } from './record-cipher';

export interface RedisPatientHoldOptions {
  readonly redis: Redis;
  /** The gateway's hash-tagged key prefix, e.g. `{continuum}`: every key lands in one slot. */
  readonly prefix: string;
  readonly cipher: RecordCipher;
  /** Failures one patient may take per window; the one that reaches it starts a hold. */
  readonly maxFailedAttempts: number;
  readonly windowMs: number;
  readonly holdMs: number;
}

/** KEYS: the hold keys. Returns the longest time left on any of them, in ms (0: none held). */
const CHECK = `
local longest = 0
for i = 1, #KEYS do
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl > longest then longest = ttl end
end
return longest
`;

/**
 * KEYS: failure counter and hold key, in pairs, per patient. ARGV[1] 1 when the attempt failed,
 * ARGV[2] the limit, ARGV[3] the window in ms, ARGV[4] the hold in ms. Every pair is read and
 * written whether or not the attempt failed (INCRBY 0 or 1), so the answer's time tells nothing;
 * a counter is only created by a failure. Returns the 1-based indexes of patients held now. The
 * counter runs on across a hold: a failure after it, still within the window, holds again.
 */
const SETTLE = `
local failed = ARGV[1] == '1'
local step = 0
if failed then step = 1 end
local started = {}
for i = 1, #KEYS, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  local held = redis.call('PTTL', KEYS[i + 1]) > 0
  if count > 0 or failed then
    count = redis.call('INCRBY', KEYS[i], step)
    if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  end
  if failed and not held and count >= tonumber(ARGV[2]) then
    redis.call('SET', KEYS[i + 1], '1', 'PX', ARGV[4])
    table.insert(started, (i + 1) / 2)
  end
end
return started
`;

export function createRedisPatientHold(options: RedisPatientHoldOptions): PatientHold {
  const { redis, prefix, cipher, maxFailedAttempts, windowMs, holdMs } = options;
  const failuresKey = (patientKey: string): string =>
    `${prefix}:verify-patient-failures:${cipher.blind(patientKey)}`;
  const holdKey = (patientKey: string): string => `${prefix}:verify-patient-hold:${cipher.blind(patientKey)}`;
  return {
    async check(patientKeys): Promise<PatientHoldState> {
      const keys = patientKeys.map(holdKey);
      const longest = Number(await redis.eval(CHECK, keys.length, ...keys));
      if (longest <= 0) return { held: false };
      return { held: true, retryAfterSeconds: Math.max(1, Math.ceil(longest / 1000)) };
    },
    async settle(patientKeys, failed): Promise<readonly PatientHoldStarted[]> {
      const keys = patientKeys.flatMap((key) => [failuresKey(key), holdKey(key)]);
      const started = (await redis.eval(
        SETTLE,
        keys.length,
        ...keys,
        failed ? 1 : 0,
        maxFailedAttempts,
        Math.round(windowMs),
        Math.round(holdMs),
      )) as number[];
      return started.flatMap((index) => {
        const patientKey = patientKeys[index - 1];
        return patientKey === undefined ? [] : [{ patientKey, heldForMs: holdMs }];
      });
    },
  };
}
