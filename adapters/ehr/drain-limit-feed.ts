/**
 * What the adaptive drain limit learns from each EHR call: its latency, and whether the EHR
 * throttled (429, or 503: an EHR shedding load) or let the call time out. Unreachable EHRs are the
 * circuit breaker's business; their calls say nothing about capacity.
 */
import { ContinuumError } from '../../src/domain/errors';
import type { DrainLimiter, EhrCallSample } from '../../src/domain/drain-limit';
import type { EhrInteraction } from '../../src/domain/metrics';
import type { EhrCallObserver } from './observed-calls';

/**
 * One request each, and the kind writes and screen pops make. `/metadata` is cached by servers and
 * a paged search is several requests: their times would skew the baseline.
 */
const SAMPLED: ReadonlySet<EhrInteraction> = new Set([
  'read',
  'vread',
  'search',
  'create',
  'update',
  'patch',
]);

/** A call that timed out after this long shows an EHR in trouble. */
const TIMEOUT_VERDICT_MS = 1000;

export function drainSample(
  interaction: EhrInteraction,
  seconds: number,
  error: unknown,
): EhrCallSample | undefined {
  const latencyMs = seconds * 1000;
  if (!(error instanceof ContinuumError)) {
    return SAMPLED.has(interaction) ? { outcome: 'answered', latencyMs } : undefined;
  }
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
    return latencyMs >= TIMEOUT_VERDICT_MS
      ? { outcome: 'timeout', latencyMs }
      : { outcome: 'answered', latencyMs };
  }
  if (error.code === 'EHR_UNAVAILABLE' && ehrStatus === undefined)
    return { outcome: 'unreachable', latencyMs };
  // Any other answer (a refusal, a conflict, a 500) still took the EHR's time like a success.
  return SAMPLED.has(interaction) ? { outcome: 'answered', latencyMs } : undefined;
}

export function drainLimitFeed(limiter: Pick<DrainLimiter, 'observe'>): EhrCallObserver {
  return (interaction, _outcome, seconds, error) => {
    const sample = drainSample(interaction, seconds, error);
    if (sample !== undefined) limiter.observe(sample);
  };
}
