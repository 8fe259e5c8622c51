/**
 * What a metrics scrape reports of the write pipeline: the figures of GET /v1/status for every
 * connection (no tenant filter: metrics are an operator's view of the whole gateway), plus lanes,
 * BullMQ job counts, subscribers' dead letters and the write store's memory.
 */
import type { PipelineSnapshot, QueueJobCounts } from '../domain/metrics';
import type { EventOperations, PipelineMonitor } from '../domain/ports';
import { pipelineStatus } from './pipeline-status';
import type { UseCaseDeps } from './use-case-deps';

export interface PipelineSnapshotSources {
  readonly monitor: PipelineMonitor;
  /** Every BullMQ queue of the gateway. */
  readonly jobCounts: () => Promise<readonly QueueJobCounts[]>;
  readonly events: Pick<EventOperations, 'states'>;
}

export async function pipelineSnapshot(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'connections' | 'clock' | 'storage'>,
  sources: PipelineSnapshotSources,
): Promise<PipelineSnapshot> {
  const names = [...deps.connections.keys()];
  const [status, lanes, queues, subscribers] = await Promise.all([
    pipelineStatus(deps, sources.monitor),
    Promise.all(names.map((name) => deps.store.laneCount(name))),
    sources.jobCounts(),
    sources.events.states(),
  ]);
  const memory = deps.storage.memory();
  return {
    connections: names.flatMap((name, i) => {
      const s = status[name];
      if (s === undefined) return [];
      return [
        {
          connection: name,
          operations: {
            queued: s.queue.queued,
            sending: s.queue.sending,
            failed: s.queue.failed,
            needsReview: s.queue.needsReview,
          },
          oldestPendingAgeSeconds: s.queue.oldestPendingAgeSeconds ?? 0,
          drainPerSecond: s.drain.perSecond,
          ...(s.drain.limit !== null
            ? { drainLimit: { limit: s.drain.limit.limit, inFlight: s.drain.limit.inFlight } }
            : {}),
          lanes: lanes[i] ?? 0,
          breaker: s.breaker.state,
          credentials: s.credentials.state,
        },
      ];
    }),
    queues,
    subscribers: subscribers.map((s) => ({ name: s.name, deadLetters: s.deadLetters })),
    redisMemory: { usedBytes: memory.usedBytes, limitBytes: memory.limitBytes },
  };
}
