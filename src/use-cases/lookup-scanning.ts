/**
 * Scanning detection: a client whose lookups find nobody for more than a threshold of distinct
 * numbers within a window is walking a number range, not answering calls. Its lookups are refused
 * for a while, and subscribers hear one `abuse.suspected` per episode. The number itself is only
 * passed to the miss log, which keeps a keyed hash of it: it reaches no log and no event.
 */
import type { CallCenterEvent } from '../domain/events';
import type { Clock, EventPublisher, Logger } from '../domain/ports';
import type { LookupMissLog, RateLimiter, RateLimiterCaller } from '../domain/rate-limits';
import { publishEvents } from './call-center-events';

export interface LookupScanningDeps {
  readonly misses: LookupMissLog;
  readonly limiter: RateLimiter;
  readonly events: EventPublisher;
  readonly logger: Logger;
  readonly clock: Clock;
  /** How long a scanning client's lookups are refused. */
  readonly throttleSeconds: number;
}

/** Notes a lookup the EHR answered with nobody; throttles the client when it starts an episode. */
export async function noteLookupMiss(
  deps: LookupScanningDeps,
  caller: RateLimiterCaller,
  e164: string,
): Promise<void> {
  const { distinctMisses, startedEpisode } = await deps.misses.note(caller.clientId, e164);
  if (!startedEpisode) return;
  await deps.limiter.throttle('lookup', caller, deps.throttleSeconds);
  deps.logger.warn(
    {
      clientId: caller.clientId,
      tenant: caller.tenant,
      distinctMisses,
      throttleSeconds: deps.throttleSeconds,
    },
    'lookups found nobody for many distinct numbers: the client is scanning; its lookups are refused for a while',
  );
  const at = deps.clock.now().toISOString();
  const event: CallCenterEvent = {
    id: `${caller.clientId}.abuse.suspected.${at}`,
    type: 'abuse.suspected',
    timestamp: at,
    data: {
      clientId: caller.clientId,
      tenant: caller.tenant,
      reason: 'lookup-scanning',
      distinctMisses,
      throttleSeconds: deps.throttleSeconds,
    },
    tenant: caller.tenant,
  };
  await publishEvents(deps, [event]);
}
