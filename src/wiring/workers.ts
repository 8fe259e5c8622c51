/** The worker role: one write worker per EHR connection, the notification worker, one event worker per subscriber. */
import type { Worker } from 'bullmq';
import { createClosureWorker } from '../../queue/closure-queue';
import { createNotificationWorker } from '../../queue/notification-queue';
import { createWriteWorker } from '../../queue/write.worker';
import type { Config } from '../config/load-config';
import type { Metrics } from '../domain/metrics';
import type { Logger } from '../domain/ports';
import { giveUpOperation } from '../use-cases/give-up-operation';
import { processEhrNotification } from '../use-cases/process-ehr-notification';
import { processOperation } from '../use-cases/process-operation';
import { runClosure } from '../use-cases/run-closure';
import type { Closeables } from './closeables';
import type { RedisWiring } from './redis';
import { StartupError } from './startup-error';
import type { UseCaseRuntime } from './use-case-deps';

export function startWorkers(
  config: Config,
  runtime: UseCaseRuntime,
  redis: RedisWiring,
  logger: Logger,
  closeables: Closeables,
  metrics: Metrics,
): void {
  const { deps, breakers, writeQueue, drainMeter } = runtime;
  const workers: Worker[] = [];
  for (const connection of Object.values(config.connections)) {
    const name = connection.name;
    const breaker = breakers.get(name);
    const credentials = runtime.credentials.get(name);
    const queue = writeQueue.queues.get(name);
    if (!breaker || !credentials || !queue) throw new StartupError(`connection ${name} is not wired`);
    workers.push(
      createWriteWorker({
        connectionName: name,
        redis: redis.worker,
        prefix: redis.prefix,
        concurrency: config.queue.concurrency,
        maxWritesPerSecond: connection.maxWritesPerSecond,
        ...(runtime.drainLimits.has(name) ? { drainLimit: runtime.drainLimits.get(name) } : {}),
        breaker,
        breakerRecheckMs: connection.breaker.recheckMs,
        lockDurationMs: config.queue.lockDurationMs,
        lockRenewMs: config.queue.lockRenewMs,
        stalledIntervalMs: config.queue.stalledIntervalMs,
        credentialsAccepted: () => credentials.allowsRequests(),
        // Looked at often (a cached Redis read): a recovery found by any process resumes writes soon.
        credentialsRecheckMs: 1000,
        pauseQueue: (ms) => queue.rateLimit(ms),
        process: (operationId) => processOperation(deps, operationId),
        giveUp: (operationId) => giveUpOperation(deps, operationId),
        onFinished: (outcome) => {
          if (outcome === 'skipped') return;
          drainMeter.record(name);
          metrics.writeFinished(name, outcome);
        },
        logger: logger.child({ component: 'write-worker', connection: name }),
      }),
    );
  }
  workers.push(...runtime.eventDelivery.workers({ redis: redis.worker, logger }));
  // EHR notifications: one queue for every connection; each job names its connection.
  workers.push(
    createNotificationWorker({
      redis: redis.worker,
      prefix: redis.prefix,
      concurrency: 4,
      process: (notification) => processEhrNotification(deps, notification),
      pauseQueue: (ms) => runtime.notificationQueue.pause(ms),
      logger: logger.child({ component: 'notification-worker' }),
    }),
  );
  workers.push(
    createClosureWorker({
      redis: redis.worker,
      prefix: redis.prefix,
      process: (closureId) => runClosure(runtime.closures.deps, closureId),
      lockDurationMs: config.queue.lockDurationMs,
      lockRenewMs: config.queue.lockRenewMs,
      stalledIntervalMs: config.queue.stalledIntervalMs,
      logger: logger.child({ component: 'closure-worker' }),
    }),
  );
  // In-flight jobs finish before the queues and Redis close. Writes still waiting for a drain permit
  // are handed back first (no attempt spent): a stop must not wait out a slow EHR's whole line.
  closeables.add('work', 'workers', async () => {
    await Promise.all([...runtime.drainLimits.values()].map((limit) => limit.close()));
    await Promise.all(workers.map((w) => w.close()));
  });
}
