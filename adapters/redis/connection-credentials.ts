/**
 * The "credentials rejected" state of one EHR connection, in Redis so every API and worker process
 * sees the same one. A hash exists only while the credentials are refused; Lua scripts make entering
 * and leaving the state happen once per episode, so only one process logs it and tells subscribers.
 * Never holds or logs a credential: only the connection, the state, times and the EHR's status.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type {
  ConnectionCredentials,
  CredentialsCheck,
  CredentialsSnapshot,
  CredentialsTransition,
} from '../../src/domain/connection-credentials';
import { ContinuumError } from '../../src/domain/errors';
import type { Logger } from '../../src/domain/ports';
import { withDeadline } from '../../src/domain/with-deadline';
import { luaScript } from './lua-script';

// KEYS: state hash. ARGV: now (ms), EHR status or '', a new episode id. Returns 1 when this refusal
// began the episode.
const RECORD_REJECTED = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'since', ARGV[1], 'probeAt', ARGV[1], 'ehrStatus', ARGV[2], 'episode', ARGV[3])
return 1
`);

// KEYS: state hash. ARGV: the episode the probe belongs to. Returns 1 when this ended it. A probe
// that started in an episode already ended (and perhaps begun again) must not end the new one.
const RECORD_ACCEPTED = luaScript(`
if redis.call('HGET', KEYS[1], 'episode') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`);

// KEYS: state hash. ARGV: now, interval (0: now, due or not). Returns the episode and its since
// when this process may probe, else 0.
const CLAIM_PROBE = luaScript(`
local episode = redis.call('HGET', KEYS[1], 'episode')
if not episode then return 0 end
local last = tonumber(redis.call('HGET', KEYS[1], 'probeAt') or '0')
if tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], 'probeAt', ARGV[1])
return { episode, redis.call('HGET', KEYS[1], 'since') }
`);

export interface ConnectionCredentialsOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly connection: string;
  /** How often, at most, one process probes a connection whose credentials were refused. */
  readonly probeIntervalMs: number;
  readonly logger: Logger;
  readonly cacheMs?: number;
  /** Told when this process began (`rejected`) or ended (`accepted`) an episode: events hang off this. */
  readonly onTransition?: (change: CredentialsTransition) => void;
}

/** The episode a probe was claimed in, and when that episode began (epoch ms, as stored). */
interface Claim {
  readonly episode: string;
  readonly since: string;
}

const iso = (ms: string | undefined): string | undefined =>
  ms !== undefined && ms !== '' ? new Date(Number(ms)).toISOString() : undefined;

export function createConnectionCredentials(options: ConnectionCredentialsOptions): ConnectionCredentials {
  const key = `${options.prefix}:credentials:${options.connection}`;
  const cacheMs = options.cacheMs ?? 250;
  let cached: { rejected: boolean; at: number } | undefined;
  const log = options.logger.child({ connection: options.connection, component: 'connection-credentials' });

  async function snapshot(): Promise<CredentialsSnapshot> {
    const hash = await options.redis.hgetall(key);
    const rejected = hash.since !== undefined;
    cached = { rejected, at: Date.now() };
    const status = Number(hash.ehrStatus);
    return {
      state: rejected ? 'credentials-rejected' : 'accepted',
      since: iso(hash.since),
      ehrStatus: rejected && Number.isInteger(status) && status > 0 ? status : undefined,
      lastProbeAt: rejected ? iso(hash.probeAt) : undefined,
    };
  }

  async function runCheck(
    { episode, since }: Claim,
    check: () => Promise<unknown>,
  ): Promise<CredentialsCheck> {
    try {
      await check();
    } catch (error) {
      if (error instanceof ContinuumError && error.code === 'EHR_CREDENTIALS_REJECTED') {
        log.info({ state: 'credentials-rejected' }, 'credentials probe: still refused');
        return 'still-rejected';
      }
      // A down or slow EHR says nothing about the credentials: the next probe asks again.
      log.info({ state: 'credentials-rejected', err: error }, 'credentials probe: no answer from the EHR');
      return 'unknown';
    }
    if ((await RECORD_ACCEPTED.run(options.redis, [key], [episode])) !== 1) return 'accepted';
    cached = { rejected: false, at: Date.now() };
    const at = new Date().toISOString();
    log.info(
      { state: 'accepted', rejectedSince: iso(since) },
      'EHR accepts the connection credentials again: writes resume',
    );
    options.onTransition?.({ state: 'accepted', at, since: iso(since) ?? at });
    return 'recovered';
  }

  const claim = async (intervalMs: number): Promise<Claim | undefined> => {
    const value = await CLAIM_PROBE.run(options.redis, [key], [String(Date.now()), String(intervalMs)]);
    if (!Array.isArray(value)) return undefined;
    const [episode, since] = value as unknown[];
    return typeof episode === 'string' && typeof since === 'string' ? { episode, since } : undefined;
  };

  return {
    connection: options.connection,
    snapshot,
    async allowsRequests() {
      if (cached === undefined || Date.now() - cached.at > cacheMs) {
        // A hung Redis must not hang the caller: past a short wait, the last known state stands.
        await withDeadline(snapshot(), 250, 'the credentials state').catch(() => undefined);
      }
      return cached?.rejected !== true;
    },
    async recordRejected(ehrStatus) {
      const now = Date.now();
      const began = await RECORD_REJECTED.run(
        options.redis,
        [key],
        [String(now), ehrStatus === undefined ? '' : String(ehrStatus), randomUUID()],
      );
      cached = { rejected: true, at: Date.now() };
      if (began === 1) {
        log.warn(
          { state: 'credentials-rejected', ehrStatus },
          'EHR refused the connection credentials: writes paused, reads from the continuity cache',
        );
        options.onTransition?.({
          state: 'credentials-rejected',
          at: new Date(now).toISOString(),
          ehrStatus,
        });
      }
    },
    async probeIfDue(check) {
      const claimed = await claim(options.probeIntervalMs);
      if (claimed === undefined) return 'not-due';
      return runCheck(claimed, check);
    },
    async retryNow(check) {
      const claimed = await claim(0);
      if (claimed === undefined) {
        cached = { rejected: false, at: Date.now() };
        return 'accepted';
      }
      log.info({ state: 'credentials-rejected' }, 'credentials retried on request');
      return runCheck(claimed, check);
    },
  };
}
