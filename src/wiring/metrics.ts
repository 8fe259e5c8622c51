/**
 * One prom-client Registry per process, created here and passed down: the event metrics the use
 * cases, adapters and queues report to, the process's default collectors, and the pipeline gauges
 * read from Redis at scrape time.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { Metrics } from '../domain/metrics';
import type { Logger } from '../domain/ports';
import { pipelineMonitor } from './pipeline-monitor';
import type { MetricsExposition } from '../http/routes/metrics.routes';
import { registerPipelineGauges } from '../observability/pipeline-gauges';
import { createPrometheusMetrics } from '../observability/prometheus-metrics';
import { pipelineSnapshot } from '../use-cases/pipeline-snapshot';
import type { UseCaseRuntime } from './use-case-deps';

/**
 * How long a scrape waits for Redis: well inside Prometheus's default 10 s scrape timeout, so a
 * slow Redis costs an empty set of pipeline gauges, not a failed scrape.
 */
const SNAPSHOT_DEADLINE_MS = 2000;

export interface MetricsWiring {
  readonly registry: Registry;
  readonly recorder: Metrics;
  readonly exposition: MetricsExposition;
}

export function createMetricsWiring(): MetricsWiring {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    recorder: createPrometheusMetrics(registry),
    exposition: { contentType: registry.contentType, text: () => registry.metrics() },
  };
}

/** The breaker, credentials and drain rate of each connection, as /v1/status and the gauges read them. */
export function registerRuntimeGauges(metrics: MetricsWiring, runtime: UseCaseRuntime, logger: Logger): void {
  const monitor = pipelineMonitor(runtime);
  registerPipelineGauges({
    registry: metrics.registry,
    deadlineMs: SNAPSHOT_DEADLINE_MS,
    logger,
    snapshot: () =>
      pipelineSnapshot(runtime.deps, {
        monitor,
        events: runtime.eventDelivery,
        jobCounts: async () => {
          const [writes, notifications, events] = await Promise.all([
            runtime.writeQueue.jobCounts(),
            runtime.notificationQueue.jobCounts(),
            runtime.eventDelivery.jobCounts(),
          ]);
          return [...writes, notifications, ...events];
        },
      }),
  });
}
