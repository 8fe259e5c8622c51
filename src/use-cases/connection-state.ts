/**
 * One word for what an EHR connection can do now, and a plain sentence why, from its breaker and
 * its credentials state: what /readyz and /v1/status show an operator. A refused credential wins
 * over the breaker: it needs a person (new credentials), an outage only needs time.
 */
import type { CredentialsSnapshot } from '../domain/connection-credentials';
import type { BreakerSnapshot } from '../domain/ports';

export type ConnectionState = 'up' | 'recovering' | 'ehr-unavailable' | 'credentials-rejected';

export interface ConnectionHealth {
  readonly state: ConnectionState;
  /** True when writes wait and reads come from the continuity cache. */
  readonly degraded: boolean;
  /** When the current degraded state began (ISO), else null. */
  readonly since: string | null;
  /** Plain words for an operator; null when up. */
  readonly reason: string | null;
}

export function connectionHealth(
  breaker: BreakerSnapshot | undefined,
  credentials: CredentialsSnapshot | undefined,
): ConnectionHealth {
  if (credentials?.state === 'credentials-rejected') {
    const answered = credentials.ehrStatus !== undefined ? ` (HTTP ${String(credentials.ehrStatus)})` : '';
    return {
      state: 'credentials-rejected',
      degraded: true,
      since: credentials.since ?? null,
      reason:
        `the EHR refused this connection's credentials${answered}: writes wait without spending ` +
        'attempts and none fails, reads are answered from the continuity cache; renew the credentials, ' +
        'the connection retries them by itself',
    };
  }
  if (breaker?.state === 'open') {
    return {
      state: 'ehr-unavailable',
      degraded: true,
      since: breaker.openedAt ?? null,
      reason:
        'the EHR is unavailable (circuit breaker open): writes wait, reads are answered from the continuity cache',
    };
  }
  if (breaker?.state === 'half-open') {
    return {
      state: 'recovering',
      degraded: false,
      since: breaker.openedAt ?? null,
      reason: 'the EHR answers again: the backlog is being sent under the drain rate cap',
    };
  }
  return { state: 'up', degraded: false, since: null, reason: null };
}
