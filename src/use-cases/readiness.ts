/**
 * What /readyz reports: Redis answers (else the gateway cannot take a write), and per EHR
 * connection whether its /metadata answered lately, its breaker's state and what the connection can
 * do now (`state`: up, or degraded and why). An unreachable EHR, or one refusing the credentials,
 * does not make the gateway unready: taking writes during an outage is its job.
 */
import type { CredentialsSnapshot } from '../domain/connection-credentials';
import type { BreakerSnapshot } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';
import { connectionHealth, type ConnectionHealth } from './connection-state';
import type { UseCaseDeps } from './use-case-deps';

/** Probes of one EHR are shared for this long: a load balancer polling /readyz must not load the EHR. */
const PROBE_TTL_MS = 5000;
const REDIS_DEADLINE_MS = 1000;
const EHR_DEADLINE_MS = 1500;

export interface EhrReadiness extends ConnectionHealth {
  /** `/metadata` answered lately; servers answer it without a token, so it says nothing of credentials. */
  readonly reachable: boolean;
  readonly checkedAt: string;
  readonly breaker: string;
}

export interface Readiness {
  redis(): Promise<boolean>;
  ehr(): Promise<Record<string, EhrReadiness>>;
}

export function createReadiness(
  deps: Pick<UseCaseDeps, 'connections' | 'clock'>,
  options: {
    /** Any round trip to the Redis that holds the queue. */
    readonly pingRedis: () => Promise<unknown>;
    readonly breaker: (connection: string) => Promise<BreakerSnapshot> | undefined;
    /** Whether the EHR accepts the connection's credentials (absent: not tracked). */
    readonly credentials?: (connection: string) => Promise<CredentialsSnapshot> | undefined;
  },
): Readiness {
  const probes = new Map<
    string,
    { readonly reachable: boolean; readonly checkedAt: string; readonly at: number }
  >();

  const probe = async (name: string): Promise<{ reachable: boolean; checkedAt: string }> => {
    const now = deps.clock.now();
    const cached = probes.get(name);
    if (cached && now.getTime() - cached.at < PROBE_TTL_MS) return cached;
    const context = deps.connections.get(name);
    const reachable =
      context !== undefined &&
      (await context.ehr.capabilities({ deadlineMs: EHR_DEADLINE_MS }).then(
        () => true,
        () => false,
      ));
    const result = { reachable, checkedAt: now.toISOString(), at: now.getTime() };
    probes.set(name, result);
    return result;
  };

  return {
    redis: () =>
      withDeadline(options.pingRedis(), REDIS_DEADLINE_MS, 'Redis').then(
        () => true,
        () => false,
      ),
    async ehr() {
      const entries = await Promise.all(
        [...deps.connections.keys()].map(async (name): Promise<[string, EhrReadiness]> => {
          const [{ reachable, checkedAt }, breaker, credentials] = await Promise.all([
            probe(name),
            options.breaker(name),
            options.credentials?.(name),
          ]);
          return [
            name,
            {
              reachable,
              checkedAt,
              breaker: breaker?.state ?? 'closed',
              ...connectionHealth(breaker, credentials),
            },
          ];
        }),
      );
      return Object.fromEntries(entries);
    },
  };
}
