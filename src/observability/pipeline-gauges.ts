/**
 * Gauges of the write pipeline, queues and Redis, read at scrape time from the state every process
 * shares in Redis (the figures GET /v1/status shows). One snapshot serves every gauge of a scrape,
 * and a scrape never waits on Redis past `deadlineMs`: then the gauges are left empty and
 * `continuum_pipeline_snapshot_ok` says 0, rather than the scrape hanging or showing stale values.
 */
import { Gauge, type Registry } from 'prom-client';
import type { PipelineSnapshot } from '../domain/metrics';
import type { BreakerState, Logger } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';

/** 0 closed, 1 half-open, 2 open: an alert reads `== 2`. */
const BREAKER_VALUE: Readonly<Record<BreakerState, number>> = { closed: 0, 'half-open': 1, open: 2 };

export interface PipelineGaugeOptions {
  readonly registry: Registry;
  readonly snapshot: () => Promise<PipelineSnapshot>;
  readonly deadlineMs: number;
  readonly logger: Logger;
}

/**
 * The snapshot, or undefined when it failed or missed the deadline. A snapshot still running when
 * the next scrape comes is joined, not started again: a hung Redis costs one snapshot in flight,
 * not one a scrape.
 */
function snapshotTaker(options: PipelineGaugeOptions): () => Promise<PipelineSnapshot | undefined> {
  let running: Promise<PipelineSnapshot> | undefined;
  return async () => {
    running ??= options.snapshot().finally(() => {
      running = undefined;
    });
    try {
      return await withDeadline(running, options.deadlineMs, 'the pipeline snapshot');
    } catch (error) {
      options.logger.warn({ err: error }, 'metrics: the pipeline snapshot failed or was late');
      return undefined;
    }
  };
}

export function registerPipelineGauges(options: PipelineGaugeOptions): void {
  const registers = [options.registry];
  // Every gauge's collect() runs in the same scrape: they share one snapshot taken by the first.
  const take = snapshotTaker(options);
  let current: Promise<PipelineSnapshot | undefined> | undefined;
  const snapshot = (): Promise<PipelineSnapshot | undefined> => {
    if (current === undefined) {
      current = take();
      void current.finally(() => {
        setImmediate(() => {
          current = undefined;
        });
      });
    }
    return current;
  };

  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (g: Gauge<L>, s: PipelineSnapshot) => void,
  ): void => {
    const g: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers,
      collect: async () => {
        const s = await snapshot();
        g.reset();
        if (s !== undefined) fill(g, s);
      },
    });
  };

  const ok = new Gauge({
    name: 'continuum_pipeline_snapshot_ok',
    help: '1 when this scrape read the pipeline state from Redis in time, else 0 (its gauges are then empty)',
    registers,
    collect: async () => {
      ok.set((await snapshot()) === undefined ? 0 : 1);
    },
  });
  gauge(
    'continuum_operations',
    'Writes by connection and status (queued, sending, failed, needs-review)',
    ['connection', 'status'],
    (g, s) => {
      for (const c of s.connections) {
        g.set({ connection: c.connection, status: 'queued' }, c.operations.queued);
        g.set({ connection: c.connection, status: 'sending' }, c.operations.sending);
        g.set({ connection: c.connection, status: 'failed' }, c.operations.failed);
        g.set({ connection: c.connection, status: 'needs-review' }, c.operations.needsReview);
      }
    },
  );
  gauge(
    'continuum_oldest_pending_age_seconds',
    'Age of the oldest queued write per connection (0: none waits)',
    ['connection'],
    (g, s) => {
      for (const c of s.connections) g.set({ connection: c.connection }, c.oldestPendingAgeSeconds);
    },
  );
  gauge(
    'continuum_drain_rate_per_second',
    'Writes finished per second per connection over the last minute, across every worker',
    ['connection'],
    (g, s) => {
      for (const c of s.connections) g.set({ connection: c.connection }, c.drainPerSecond);
    },
  );
  gauge(
    'continuum_drain_limit',
    'Writes sent to the EHR at once at most, per connection, as the adaptive limit found',
    ['connection'],
    (g, s) => {
      for (const c of s.connections)
        if (c.drainLimit) g.set({ connection: c.connection }, c.drainLimit.limit);
    },
  );
  gauge(
    'continuum_drain_in_flight',
    'Writes holding a permit of the adaptive limit now, per connection, in every worker process',
    ['connection'],
    (g, s) => {
      for (const c of s.connections)
        if (c.drainLimit) g.set({ connection: c.connection }, c.drainLimit.inFlight);
    },
  );
  gauge('continuum_lanes', 'Patients with writes waiting, per connection', ['connection'], (g, s) => {
    for (const c of s.connections) g.set({ connection: c.connection }, c.lanes);
  });
  gauge(
    'continuum_breaker_state',
    'Circuit breaker per connection: 0 closed, 1 half-open, 2 open',
    ['connection'],
    (g, s) => {
      for (const c of s.connections) g.set({ connection: c.connection }, BREAKER_VALUE[c.breaker]);
    },
  );
  gauge(
    'continuum_credentials_rejected',
    "1 while the connection's EHR refuses its credentials, else 0",
    ['connection'],
    (g, s) => {
      for (const c of s.connections) {
        g.set({ connection: c.connection }, c.credentials === 'credentials-rejected' ? 1 : 0);
      }
    },
  );
  gauge('continuum_queue_jobs', 'BullMQ jobs by queue and state', ['queue', 'state'], (g, s) => {
    for (const q of s.queues) {
      for (const [state, count] of Object.entries(q.counts)) g.set({ queue: q.queue, state }, count);
    }
  });
  gauge(
    'continuum_event_dead_letters',
    'Events given up on per subscriber, waiting for an operator replay',
    ['subscriber'],
    (g, s) => {
      for (const sub of s.subscribers) g.set({ subscriber: sub.name }, sub.deadLetters);
    },
  );
  gauge('continuum_redis_memory_used_bytes', 'Memory Redis uses (INFO memory)', [], (g, s) => {
    g.set(s.redisMemory.usedBytes);
  });
  gauge(
    'continuum_redis_memory_max_bytes',
    "The write store's memory limit: Redis maxmemory or storage.maxMemoryBytes, the lower (absent: none)",
    [],
    (g, s) => {
      if (s.redisMemory.limitBytes !== null) g.set(s.redisMemory.limitBytes);
    },
  );
}
