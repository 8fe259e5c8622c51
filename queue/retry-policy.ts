/**
 * How long a write waits before its next attempt. Exponential from 1 s, capped at 10 minutes,
 * with jitter so a recovering EHR is not hit by every lane at once; 1,000 attempts at an average
 * of ~7.5 minutes each outlast a 72-hour outage. A `Retry-After` from the EHR wins.
 */
export const WRITE_ATTEMPTS = 1000;
const BASE_MS = 1000;
const CAP_MS = 10 * 60 * 1000;

export function retryDelayMs(
  attemptsMade: number,
  retryAfterSeconds: number | undefined,
  random = Math.random,
): number {
  if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds * 1000, CAP_MS * 6);
  const exponential = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(exponential * (0.5 + random() * 0.5));
}
