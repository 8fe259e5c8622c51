/**
 * What the adaptive drain limit learns from each EHR call: whether the EHR throttled (429, or 503:
 * an EHR shedding load) or let a call time out, from every call; and the latency of the writes
 * themselves. Unreachable EHRs are the circuit breaker's business; their calls say nothing about
 * capacity.
 */
import { ContinuumError } from '../../src/domain/errors';
import type { DrainLimiter, EhrCallSample } from '../../src/domain/drain-limit';
import type { EhrInteraction } from '../../src/domain/metrics';
import type { EhrCallObserver } from './observed-calls';

/**
 * Latency is judged on writes alone: one request each, of like cost. Mixed with reads (tens of ms)
 * and phone searches (hundreds), a window that happened to hold a few searches would read as the
 * EHR queueing, and the limit would be cut while the EHR is not congested.
 */
const TIMED: ReadonlySet<EhrInteraction> = new Set(['create', 'update', 'patch']);

/**
 * A timeout of these says the EHR is in trouble. Searches are slow by nature on some EHRs (a
 * background phone search taking a second is no sign of congestion); a paged search or `/metadata`
 * is not one request.
 */
const TIMEOUT_SIGNS: ReadonlySet<EhrInteraction> = new Set(['read', 'vread', 'create', 'update', 'patch']);

/** A call that timed out after this long shows an EHR in trouble. */
const TIMEOUT_VERDICT_MS = 1000;

export function drainSample(
  interaction: EhrInteraction,
  seconds: number,
  error: unknown,
): EhrCallSample | undefined {
  const latencyMs = seconds * 1000;
  const answered = (): EhrCallSample | undefined =>
    TIMED.has(interaction) ? { outcome: 'answered', latencyMs } : undefined;
  if (!(error instanceof ContinuumError)) return answered();
  const retryAfter =
    error.retryAfterSeconds !== undefined && error.retryAfterSeconds > 0
      ? { retryAfterSeconds: error.retryAfterSeconds }
      : {};
  const ehrStatus = error.extra?.ehrStatus;
  if (error.code === 'EHR_THROTTLED' || (error.code === 'EHR_UNAVAILABLE' && ehrStatus === 503))
    return { outcome: 'throttled', latencyMs, ...retryAfter };
  if (error.code === 'EHR_UNAVAILABLE' && error.extra?.timeout === true) {
    // A caller's own short deadline (an acceptance check, a screen pop answered from the cache)
    // says the EHR took at least this long, not that it failed: a sample, not a verdict.
    if (latencyMs >= TIMEOUT_VERDICT_MS && TIMEOUT_SIGNS.has(interaction))
      return { outcome: 'timeout', latencyMs };
    return answered();
  }
  if (error.code === 'EHR_UNAVAILABLE' && ehrStatus === undefined)
    return { outcome: 'unreachable', latencyMs };
  // Any other answer (a refusal, a conflict, a 500) still took the EHR's time like a success.
  return answered();
}

export function drainLimitFeed(limiter: Pick<DrainLimiter, 'observe'>): EhrCallObserver {
  return (interaction, _outcome, seconds, error) => {
    const sample = drainSample(interaction, seconds, error);
    if (sample !== undefined) limiter.observe(sample);
  };
}
