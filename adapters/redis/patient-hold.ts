/**
 * Failed identity verifications per patient, across every caller and client, in Redis: past the
 * limit within a window, verification of that patient is held for a while. One Lua script checks
 * the hold and takes an attempt atomically, so concurrent guesses cannot overrun the limit.
 * Patient keys name the connection and the patient; only their keyed hash reaches a key name.
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

/**
 * KEYS: failure counter and hold key, in pairs, per patient. ARGV[1] 1 to enforce, ARGV[2] the
 * limit, ARGV[3] the window in ms. Returns 0 when the attempt was taken, the longest hold left
 * (ms) when one is in force, or -1 when attempts in flight already reach the limit.
 */
const RESERVE = `
if ARGV[1] == '1' then
  local longest = 0
  for i = 2, #KEYS, 2 do
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl > longest then longest = ttl end
  end
  if longest > 0 then return longest end
  for i = 1, #KEYS, 2 do
    if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2]) then return -1 end
  end
end
for i = 1, #KEYS, 2 do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 0
`;

/**
 * KEYS as for RESERVE. ARGV[1] 1 when the attempt failed, ARGV[2] the limit, ARGV[3] the hold in
 * ms. Every pair is read and written whether or not the attempt failed (INCRBY 0 keeps the
 * failure, INCRBY -1 gives it back), so the answer's time tells nothing. A patient held now has
 * its count start again. Returns the 1-based indexes of the patients held now.
 */
const SETTLE = `
local failed = ARGV[1] == '1'
local step = -1
if failed then step = 0 end
local started = {}
for i = 1, #KEYS, 2 do
  local count = tonumber(redis.call('GET', KEYS[i]) or '0')
  local held = redis.call('PTTL', KEYS[i + 1]) > 0
  if count > 0 then
    count = redis.call('INCRBY', KEYS[i], step)
    if failed and not held and count >= tonumber(ARGV[2]) then
      redis.call('SET', KEYS[i + 1], '1', 'PX', ARGV[3])
      redis.call('DEL', KEYS[i])
      table.insert(started, (i + 1) / 2)
    end
  end
end
return started
`;

export function createRedisPatientHold(options: RedisPatientHoldOptions): PatientHold {
  const { redis, prefix, cipher, maxFailedAttempts, windowMs, holdMs } = options;
  const keysOf = (patientKeys: readonly string[]): string[] =>
    patientKeys.flatMap((key) => {
      const blind = cipher.blind(key);
      return [`${prefix}:verify-patient-failures:${blind}`, `${prefix}:verify-patient-hold:${blind}`];
    });
  return {
    async reserve(patientKeys, enforce): Promise<PatientHoldState> {
      const keys = keysOf(patientKeys);
      const answer = Number(
        await redis.eval(
          RESERVE,
          keys.length,
          ...keys,
          enforce ? 1 : 0,
          maxFailedAttempts,
          Math.round(windowMs),
        ),
      );
      if (answer === 0) return { held: false };
      return { held: true, retryAfterSeconds: answer < 0 ? 1 : Math.max(1, Math.ceil(answer / 1000)) };
    },
    async settle(patientKeys, failed): Promise<readonly PatientHoldStarted[]> {
      const keys = keysOf(patientKeys);
      const started = (await redis.eval(
        SETTLE,
        keys.length,
        ...keys,
        failed ? 1 : 0,
        maxFailedAttempts,
        Math.round(holdMs),
      )) as number[];
      return started.flatMap((index) => {
        const patientKey = patientKeys[index - 1];
        return patientKey === undefined ? [] : [{ patientKey, heldForMs: holdMs }];
      });
    },
  };
}
