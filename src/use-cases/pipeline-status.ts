/**
 * GET /v1/status: per EHR connection, whether writes flow (breaker), how much waits, how old the
 * oldest waiting write is, and when the backlog should be drained at the current pace.
 */
import type { CredentialsSnapshot } from '../domain/connection-credentials';
import type { DrainLimitSnapshot } from '../domain/drain-limit';
import type { BreakerSnapshot, PipelineMonitor } from '../domain/ports';
import { connectionHealth, type ConnectionHealth } from './connection-state';
import type { UseCaseDeps } from './use-case-deps';

export interface ConnectionStatus extends ConnectionHealth {
  readonly breaker: BreakerSnapshot;
  readonly credentials: CredentialsSnapshot;
  readonly queue: {
    readonly queued: number;
    readonly sending: number;
    readonly failed: number;
    readonly needsReview: number;
    readonly oldestPendingAgeSeconds: number | null;
    /** Writes not yet final (queued or being sent) by urgency. */
    readonly pending: { readonly urgent: number; readonly routine: number };
    /**
     * Lanes whose next write waits for the drain, by the urgency it is served at (a lane holding an
     * urgent write is served as urgent).
     */
    readonly lanesWaiting: { readonly urgent: number; readonly routine: number };
  };
  readonly drain: {
    readonly perSecond: number;
    readonly etaSeconds: number | null;
    /** How many writes the EHR is sent at once, as found; null where the limit is not adaptive. */
    readonly limit: DrainLimitSnapshot | null;
  };
}

export async function pipelineStatus(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'connections' | 'clock'>,
  monitor: PipelineMonitor,
  /** The connections to report on (a tenant's); all when absent. */
  only?: readonly string[],
): Promise<Record<string, ConnectionStatus>> {
  const out: Record<string, ConnectionStatus> = {};
  const names = [...deps.connections.keys()].filter((name) => only === undefined || only.includes(name));
  await Promise.all(
    names.map(async (name) => {
      const [
        breaker,
        credentials,
        queued,
        sending,
        failed,
        needsReview,
        oldest,
        perSecond,
        urgent,
        lanesWaiting,
        limit,
      ] = await Promise.all([
        monitor.breaker(name),
        monitor.credentials(name),
        deps.store.count(name, 'queued'),
        deps.store.count(name, 'sending'),
        deps.store.count(name, 'failed'),
        deps.store.count(name, 'needs-review'),
        deps.store.oldest(name, 'queued'),
        monitor.drainRate(name),
        deps.store.urgentPending(name),
        deps.queue.waitingByUrgency(name),
        monitor.drainLimit(name),
      ]);
      const pending = queued + sending;
      out[name] = {
        ...connectionHealth(breaker, credentials),
        breaker,
        credentials,
        queue: {
          queued,
          sending,
          failed,
          needsReview,
          oldestPendingAgeSeconds:
            oldest === undefined
              ? null
              : Math.max(0, Math.round((deps.clock.now().getTime() - oldest.getTime()) / 1000)),
          // Counted at different instants: keep the split within the total.
          pending: { urgent: Math.min(urgent, pending), routine: Math.max(0, pending - urgent) },
          lanesWaiting,
        },
        drain: {
          perSecond: Math.round(perSecond * 100) / 100,
          etaSeconds: pending === 0 ? 0 : perSecond > 0 ? Math.ceil(pending / perSecond) : null,
          limit: limit ?? null,
        },
      };
    }),
  );
  return out;
}
