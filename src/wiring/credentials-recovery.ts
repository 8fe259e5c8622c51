/**
 * Getting a connection out of `credentials-rejected`: the periodic authenticated probe (worker role,
 * one process at a time through Redis) and `retryNow`, the hook a reload of a connection's
 * credentials calls so the backlog does not wait for the next probe. On recovery the connection's
 * write queue is woken: its rate-limit wait is lifted and writes in back-off are sent now, oldest first.
 */
import type { CredentialsCheck } from '../domain/connection-credentials';
import type { Logger } from '../domain/ports';
import { credentialsProbe } from '../use-cases/credentials-watched-ehr';
import type { UseCaseRuntime } from './use-case-deps';

/** The probe's own deadline: a cheap read, but a slow EHR must not hold a timer tick for long. */
const PROBE_DEADLINE_MS = 2000;

export interface CredentialsRecovery {
  /** The periodic probe of one connection: does nothing unless it is rejected and a probe is due. */
  probeIfDue(connection: string): Promise<CredentialsCheck>;
  /**
   * Retries the credentials of one connection (all when absent) now. Call it after the credentials
   * were reloaded (a changed secret file, SIGHUP). Resolves to each connection's outcome.
   */
  retryNow(connection?: string): Promise<Record<string, CredentialsCheck>>;
}

export function createCredentialsRecovery(runtime: UseCaseRuntime, logger: Logger): CredentialsRecovery {
  const wake = async (name: string): Promise<void> => {
    const queue = runtime.writeQueue.queues.get(name);
    if (queue === undefined) return;
    await queue.removeRateLimitKey();
    await queue.promoteJobs();
  };

  const check = async (name: string, run: 'probeIfDue' | 'retryNow'): Promise<CredentialsCheck> => {
    const credentials = runtime.credentials.get(name);
    const context = runtime.deps.connections.get(name);
    if (credentials === undefined || context === undefined) return 'unknown';
    const outcome = await credentials[run](credentialsProbe(context.ehr, PROBE_DEADLINE_MS));
    if (outcome === 'recovered') {
      await wake(name).catch((error: unknown) => {
        logger.warn({ err: error, connection: name }, 'write queue not woken; it resumes within a second');
      });
    }
    return outcome;
  };

  return {
    probeIfDue: (name) => check(name, 'probeIfDue'),
    async retryNow(connection) {
      const names = connection === undefined ? [...runtime.credentials.keys()] : [connection];
      const outcomes = await Promise.all(
        names.map(async (name): Promise<[string, CredentialsCheck]> => [name, await check(name, 'retryNow')]),
      );
      return Object.fromEntries(outcomes);
    },
  };
}
