/**
 * The last hour of each connection's write pipeline: sampled by every API process (the first sample
 * of an interval is kept), read back by the operator console to draw backlog and drain.
 */
import type { PipelineMonitor } from '../domain/ports';
import type { StatusHistoryStore, StatusSample } from '../domain/status-history';
import { pipelineStatus } from './pipeline-status';
import type { UseCaseDeps } from './use-case-deps';

export const HISTORY_KEEP_MS = 3_600_000;

/** Takes one sample of every connection's pipeline; resolves to how many were stored (not taken by another process). */
export async function sampleStatusHistory(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'connections' | 'clock'>,
  monitor: PipelineMonitor,
  history: StatusHistoryStore,
  intervalMs: number,
): Promise<number> {
  const at = Math.floor(deps.clock.now().getTime() / intervalMs) * intervalMs;
  const statuses = await pipelineStatus(deps, monitor);
  // Processes sampling at other intervals add samples of their own: the count bound keeps an hour of the finest.
  const bounds = { keepMs: HISTORY_KEEP_MS, maxSamples: Math.ceil(HISTORY_KEEP_MS / intervalMs) + 1 };
  const stored = await Promise.all(
    Object.entries(statuses).map(([connection, status]) =>
      history.record(
        connection,
        {
          at,
          backlog: status.queue.queued + status.queue.sending,
          failed: status.queue.failed,
          needsReview: status.queue.needsReview,
          drainPerSecond: status.drain.perSecond,
          breaker: status.breaker.state,
        },
        bounds,
      ),
    ),
  );
  return stored.filter(Boolean).length;
}

export interface StatusHistory {
  readonly connection: string;
  readonly intervalMs: number;
  readonly from: string;
  readonly samples: readonly StatusSample[];
}

/** The samples of the last `minutes` of one connection (already resolved for the caller's tenant). */
export async function readStatusHistory(
  deps: Pick<UseCaseDeps, 'clock'>,
  history: StatusHistoryStore,
  connection: string,
  minutes: number,
  intervalMs: number,
): Promise<StatusHistory> {
  const from = deps.clock.now().getTime() - Math.min(minutes * 60_000, HISTORY_KEEP_MS);
  return {
    connection,
    intervalMs,
    from: new Date(from).toISOString(),
    samples: await history.read(connection, from),
  };
}
