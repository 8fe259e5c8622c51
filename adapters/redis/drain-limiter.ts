/**
 * One connection's adaptive drain limit (the rule is in src/domain/drain-limit.ts), shared by
 * every worker process through Redis. Permits are leases in Redis; within a process, writes wait
 * for one in a local line, most urgent first, so that only the head of the line asks Redis.
 * Samples are pooled in-process and flushed once a window; one process per window judges them.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import {
  adjustDrainLimit,
  baselineOf,
  initialDrainState,
  type DrainLimitChange,
  type DrainLimitSettings,
  type DrainLimiter,
  type DrainPermit,
  type EhrCallSample,
} from '../../src/domain/drain-limit';
import { ContinuumError } from '../../src/domain/errors';
import type { Logger } from '../../src/domain/ports';
import { withDeadline } from '../../src/domain/with-deadline';
import { ACQUIRE, CLAIM_WINDOW, FLUSH, GRANTED, RESTART, SAVE_LIMIT } from './drain-limit-scripts';

export interface DrainLimiterOptions {
  readonly redis: Redis;
  readonly prefix: string;
  readonly connection: string;
  readonly settings: DrainLimitSettings;
  /** How often samples are pooled and judged. */
  readonly windowMs: number;
  /**
   * A permit not renewed in this long is taken back: its process died. Renewed every `renewMs`
   * while held; a lapsed permit of a live process lets one more write in than the limit says.
   */
  readonly leaseMs: number;
  readonly renewMs: number;
  readonly logger: Logger;
}

/**
 * How often a full line asks Redis again: permits given back by other processes are not
 * signalled, and this bounds how long one stays unused. Permits given back in this process wake
 * the line at once.
 */
const RECHECK_MS = 15;
/** The longest an EHR's `Retry-After` holds every write of the connection back. */
const MAX_RETRY_AFTER_SECONDS = 60;
/** A window is judged once it holds this many calls (or has grown four windows long). */
const LEAST_CALLS = 5;
/** Redis must answer the limiter within this, or the line waits and asks again. */
const REDIS_DEADLINE_MS = 2000;

interface Waiter {
  readonly priority: number;
  readonly seq: number;
  /** Kept across retries: an ACQUIRE that timed out but went through is found again, not leaked. */
  readonly leaseId: string;
  readonly resolve: (permit: DrainPermit) => void;
  readonly reject: (error: unknown) => void;
}

export function createDrainLimiter(options: DrainLimiterOptions): DrainLimiter {
  const { redis, settings } = options;
  const leasesKey = `${options.prefix}:drain-limit:${options.connection}:leases`;
  const stateKey = `${options.prefix}:drain-limit:${options.connection}`;
  const log = options.logger.child({ connection: options.connection, component: 'drain-limit' });
  const line: Waiter[] = [];
  let seq = 0;
  let pumping = false;
  let wake: (() => void) | undefined;
  let closed = false;
  let window = { calls: 0, latencyMsSum: 0, throttled: 0, timeouts: 0, pausedUntil: 0 };
  let lastChange: DrainLimitChange | undefined;
  /** Leases this process holds: renewed while held, so a process that dies gives them back soon. */
  const held = new Set<string>();

  const enqueue = (waiter: Waiter): void => {
    // Most urgent first, then in order of arrival: the order BullMQ handed the jobs over in.
    let at = line.length;
    while (at > 0) {
      const before = line[at - 1];
      if (before === undefined || before.priority <= waiter.priority) break;
      at--;
    }
    line.splice(at, 0, waiter);
  };

  /** Gives a lease back; never throws: a lease Redis did not take back lapses by itself. */
  const giveBack = async (leaseId: string): Promise<void> => {
    held.delete(leaseId);
    try {
      await withDeadline(redis.zrem(leasesKey, leaseId), REDIS_DEADLINE_MS, 'the drain limit');
    } catch (error) {
      log.warn({ err: error }, 'drain permit not given back; it lapses by itself');
    } finally {
      wake?.();
    }
  };

  const permit = (leaseId: string): DrainPermit => {
    held.add(leaseId);
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        await giveBack(leaseId);
      },
    };
  };

  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  async function pump(): Promise<void> {
    if (pumping) return;
    pumping = true;
    try {
      while (line.length > 0 && !closed) {
        const head = line[0];
        if (head === undefined) break;
        const { leaseId } = head;
        let answer: number;
        try {
          answer = Number(
            await withDeadline(
              ACQUIRE.run(
                redis,
                [leasesKey, stateKey],
                [Date.now(), leaseId, options.leaseMs, settings.initialLimit],
              ),
              REDIS_DEADLINE_MS,
              'the drain limit',
            ),
          );
        } catch (error) {
          log.warn({ err: error }, 'drain limit unreadable; writes wait');
          answer = 250;
        }
        if (answer === GRANTED) {
          // The line may have been closed (or the head gone) while Redis answered.
          if (line[0] === head) {
            line.shift();
            head.resolve(permit(leaseId));
          } else {
            await giveBack(leaseId);
          }
          continue;
        }
        await pause(answer > 0 ? Math.min(answer, 1000) : RECHECK_MS);
      }
    } finally {
      pumping = false;
    }
  }

  async function judge(): Promise<void> {
    const pending = window;
    window = { calls: 0, latencyMsSum: 0, throttled: 0, timeouts: 0, pausedUntil: 0 };
    if (pending.calls + pending.throttled + pending.timeouts > 0 || pending.pausedUntil > 0) {
      await FLUSH.run(
        redis,
        [stateKey],
        [
          pending.calls,
          pending.latencyMsSum.toFixed(3),
          pending.throttled,
          pending.timeouts,
          pending.pausedUntil,
        ],
      );
    }
    const claimed = (await CLAIM_WINDOW.run(
      redis,
      [leasesKey, stateKey],
      [Date.now(), options.windowMs, LEAST_CALLS],
    )) as (string | null)[] | null;
    if (claimed === null) return;
    const [calls, latencySum, throttled, timeouts, peak, limit, means, sinceCut] = claimed;
    const state =
      limit === null || limit === undefined
        ? initialDrainState(settings)
        : {
            limit: Number(limit),
            recentMeansMs: parseMeans(means),
            ...(sinceCut !== null && sinceCut !== undefined ? { sinceCut: Number(sinceCut) } : {}),
          };
    const decision = adjustDrainLimit(
      state,
      {
        calls: Number(calls ?? 0),
        latencyMsSum: Number(latencySum ?? 0),
        throttled: Number(throttled ?? 0),
        timeouts: Number(timeouts ?? 0),
        peakInFlight: Number(peak ?? 0),
      },
      settings,
    );
    await SAVE_LIMIT.run(
      redis,
      [stateKey],
      [
        decision.state.limit,
        JSON.stringify(decision.state.recentMeansMs.map((m) => Math.round(m * 10) / 10)),
        decision.change,
        decision.state.sinceCut ?? 0,
      ],
    );
    lastChange = decision.change;
    if (decision.change.startsWith('cut'))
      log.info(
        {
          change: decision.change,
          limit: decision.state.limit,
          meanMs: decision.meanMs,
          baselineMs: decision.baselineMs,
        },
        'drain limit cut',
      );
    if (decision.state.limit > state.limit) wake?.();
  }

  // Held leases are pushed forward while this process lives; one Redis call for all of them.
  const renewing = setInterval(() => {
    if (held.size === 0) return;
    const until = Date.now() + options.leaseMs;
    const args = [...held].flatMap((id) => [until, id]);
    redis.zadd(leasesKey, 'XX', ...args).catch((error: unknown) => {
      log.warn({ err: error }, 'drain permits not renewed; they may lapse and let a few more writes in');
    });
  }, options.renewMs);
  renewing.unref();

  const judging = setInterval(() => {
    judge().catch((error: unknown) => {
      log.warn({ err: error }, 'drain limit not judged this window');
    });
  }, options.windowMs);
  judging.unref();

  return {
    connection: options.connection,

    acquire(priority = 0) {
      if (closed) {
        return Promise.reject(
          new ContinuumError('QUEUE_UNAVAILABLE', {
            detail: 'the drain limit is closed',
            retryAfterSeconds: 1,
          }),
        );
      }
      return new Promise<DrainPermit>((resolve, reject) => {
        enqueue({ priority, seq: seq++, leaseId: randomUUID(), resolve, reject });
        void pump();
      });
    },

    observe(sample: EhrCallSample) {
      switch (sample.outcome) {
        case 'answered':
          window.calls++;
          window.latencyMsSum += sample.latencyMs;
          break;
        case 'throttled':
          window.throttled++;
          break;
        case 'timeout':
          window.timeouts++;
          break;
        case 'unreachable':
          return;
      }
      if (sample.retryAfterSeconds !== undefined) {
        // A maintenance page's `Retry-After: 3600` must not hold the drain for an hour after the
        // EHR is back: past the cap, the limit's cuts and the breaker take over.
        const seconds = Math.min(sample.retryAfterSeconds, MAX_RETRY_AFTER_SECONDS);
        const until = Date.now() + seconds * 1000;
        // Every process must stop sending at once, not a window later. Shared now, it is not kept
        // for the window's flush too: that would bring back a pause an outage's restart ended.
        FLUSH.run(redis, [stateKey], [0, 0, 0, 0, until]).catch((error: unknown) => {
          window.pausedUntil = Math.max(window.pausedUntil, until);
          log.warn({ err: error }, 'Retry-After not shared; the next window shares it');
        });
      }
    },

    async snapshot() {
      const now = Date.now();
      const [state, inFlight] = await Promise.all([
        redis.hmget(stateKey, 'limit', 'means', 'pausedUntil', 'change'),
        redis.zcount(leasesKey, now, '+inf'),
      ]);
      const [limit, means, pausedUntil, change] = state;
      const until = Number(pausedUntil ?? 0);
      return {
        limit: limit === null || limit === undefined ? settings.initialLimit : Number(limit),
        inFlight,
        baselineMs: baselineOf({ limit: 0, recentMeansMs: parseMeans(means) }),
        pausedUntil: until > now ? new Date(until).toISOString() : undefined,
        lastChange: (change as DrainLimitChange | null | undefined) ?? lastChange,
      };
    },

    async restart() {
      const limit = await RESTART.run(redis, [stateKey], [settings.initialLimit]);
      lastChange = 'restart';
      log.info({ limit }, 'EHR unavailable: the drain will restart from a lower limit');
    },

    async close() {
      if (closed) return;
      closed = true;
      clearInterval(judging);
      clearInterval(renewing);
      wake?.();
      for (const waiter of line.splice(0)) {
        waiter.reject(
          new ContinuumError('QUEUE_UNAVAILABLE', { detail: 'the drain limit closed', retryAfterSeconds: 1 }),
        );
      }
      await Promise.resolve();
    },
  };
}

function parseMeans(raw: string | null | undefined): number[] {
  if (raw === null || raw === undefined) return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? parsed.filter((m): m is number => typeof m === 'number' && m > 0) : [];
  } catch {
    return [];
  }
}
