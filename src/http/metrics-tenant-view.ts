/**
 * What a tenant's scraper may see of the gateway's metrics. Series are labelled by connection,
 * subscriber and queue, and those name other tenants' EHRs and desks, their backlogs and failures:
 * a client of a tenant that does not see everything gets the series of its own connections,
 * subscribers and queues, and the gateway-wide ones (HTTP, process, Redis memory). A tenant that
 * sees every connection and subscriber gets the exposition as it is.
 */
import type { Tenant } from '../domain/access';

export interface MetricsOwnership {
  /** Every configured connection. */
  readonly connections: readonly string[];
  /** Each event subscriber's tenant. */
  readonly subscriberTenants: ReadonlyMap<string, string>;
}

export type MetricsView = 'all' | ((line: string) => boolean);

/** The labels that name a tenant's things; a series without them is gateway-wide. */
const OWNED_LABEL = /\b(connection|subscriber|queue)="((?:[^"\\]|\\.)*)"/g;

export function metricsViewOf(tenant: Tenant, owned: MetricsOwnership): MetricsView {
  const allConnections = owned.connections.every((c) => tenant.connections.includes(c));
  const subscribers = [...owned.subscriberTenants].filter(([, t]) => t === tenant.name).map(([s]) => s);
  if (allConnections && subscribers.length === owned.subscriberTenants.size) return 'all';
  const visible = {
    connection: new Set(tenant.connections),
    subscriber: new Set(subscribers),
    queue: new Set([
      ...tenant.connections.map((c) => `writes-${c}`),
      ...subscribers.map((s) => `events-${s}`),
      // Shared by every connection: only a tenant that sees them all sees its queue.
      ...(allConnections ? ['ehr-notifications'] : []),
    ]),
  };
  return (line) => {
    if (line.startsWith('#')) return true;
    for (const [, label, value] of line.matchAll(OWNED_LABEL)) {
      if (!visible[label as keyof typeof visible].has(value ?? '')) return false;
    }
    return true;
  };
}

export function applyMetricsView(text: string, view: MetricsView): string {
  return view === 'all' ? text : text.split('\n').filter(view).join('\n');
}
