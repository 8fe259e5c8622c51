/**
 * The worker role's timers, per EHR connection: the breaker probe, the credentials probe, the lane sweeper and the cache
 * warm-up; and the audit trail's trim. Every worker process runs them; Redis claims make one process act at a time.
 */
import type { Config } from '../config/load-config';
import type { Logger, RunLock } from '../domain/ports';
import type { ScheduledWarmup } from '../use-cases/scheduled-warmup';
import { sweepLanes } from '../use-cases/sweep-lanes';
import { forwardAudit } from '../use-cases/forward-audit';
import { recordsAboutConnection } from './audit';
import type { Closeables } from './closeables';
import type { CredentialsRecovery } from './credentials-recovery';
import { StartupError } from './startup-error';
import type { UseCaseRuntime } from './use-case-deps';

/** Workers warm the cache this long after start, then every `cache.warmup.intervalMinutes`. */
const FIRST_WARMUP_DELAY_MS = 30_000;
const AUDIT_TRIM_INTERVAL_MS = 3_600_000;

export function startBackgroundJobs(
  config: Config,
  runtime: UseCaseRuntime,
  {
    warmup,
    lock,
    credentials,
  }: {
    readonly warmup: ScheduledWarmup;
    readonly lock: RunLock;
    readonly credentials: CredentialsRecovery;
  },
  logger: Logger,
  closeables: Closeables,
): void {
  const timers: NodeJS.Timeout[] = [];
  for (const connection of Object.values(config.connections)) {
    const name = connection.name;
    const breaker = runtime.breakers.get(name);
    const context = runtime.deps.connections.get(name);
    const queue = runtime.writeQueue.queues.get(name);
    if (!breaker || !context || !queue) throw new StartupError(`connection ${name} is not wired`);
    const probe = (): void => {
      breaker
        .probeIfDue(() => context.ehr.capabilities({ deadlineMs: 2000 }))
        .then(async () => {
          // Writes that failed before the breaker opened sit in backoff: recovered, send them now, oldest first.
          if ((await breaker.snapshot()).state === 'half-open') await queue.promoteJobs();
        })
        .catch((error: unknown) => {
          logger.warn({ err: error, connection: name }, 'breaker probe error');
        });
    };
    const probeCredentials = (): void => {
      credentials.probeIfDue(name).catch((error: unknown) => {
        logger.warn({ err: error, connection: name }, 'credentials probe error');
      });
    };
    const sweep = (): void => {
      sweepLanes(runtime.deps, name).catch((error: unknown) => {
        logger.warn({ err: error, connection: name }, 'lane sweep error');
      });
    };
    timers.push(
      setInterval(probe, Math.max(250, Math.round(connection.breaker.probeIntervalMs / 4))),
      setInterval(sweep, config.queue.sweepIntervalMs),
      // Ticks often; the Redis claim lets one process probe once per `credentialsProbeIntervalMs`.
      setInterval(probeCredentials, Math.max(250, Math.round(connection.credentialsProbeIntervalMs / 4))),
    );
    if (connection.auditForwarding.enabled) {
      const about = recordsAboutConnection(config, name);
      const { batchSize, intervalMs } = connection.auditForwarding;
      const forward = (): void => {
        lock
          .claim(`audit-forward:${name}`, intervalMs)
          .then(async (claimed) => {
            if (claimed) await forwardAudit(runtime.deps, name, about, batchSize);
          })
          .catch((error: unknown) => {
            logger.warn({ err: error, connection: name }, 'audit copy to the EHR error');
          });
      };
      timers.push(setInterval(forward, intervalMs));
    }
    if (config.cache.warmup.enabled) {
      const warm = (): void => {
        warmup.run(name).catch((error: unknown) => {
          logger.warn({ err: error, connection: name }, 'cache warm-up error');
        });
      };
      // clearInterval clears a timeout too.
      timers.push(
        setTimeout(warm, FIRST_WARMUP_DELAY_MS),
        setInterval(warm, config.cache.warmup.intervalMinutes * 60_000),
      );
    }
  }
  // Audit records past retention go by time; every worker may trim, trimming twice is harmless.
  const trimAudit = (): void => {
    runtime.deps.audit.trim().then(
      (removed) => {
        if (removed > 0) logger.info({ removed }, 'audit records past retention trimmed');
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'audit trim error');
      },
    );
  };
  timers.push(setTimeout(trimAudit, FIRST_WARMUP_DELAY_MS), setInterval(trimAudit, AUDIT_TRIM_INTERVAL_MS));
  closeables.add('intake', 'timers', () => {
    for (const timer of timers) clearInterval(timer);
    return Promise.resolve();
  });
}
