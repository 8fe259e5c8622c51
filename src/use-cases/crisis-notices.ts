/**
 * The notices an IVR, a chatbot or a desk reads out: the tenant's activations in force now, at a
 * location (an activation naming no location applies to all of them) and a connection. They come
 * from Continuum's own records, never from the EHR, so they answer the same while the EHR is down:
 * that is when callers most need them.
 */
import type { Tenant } from '../domain/access';
import { activationStatus, type Activation, type ActivationKind } from '../domain/activation';
import type { UseCaseDeps } from './use-case-deps';

export interface Notice {
  readonly id: string;
  readonly activationId: string;
  readonly kind: ActivationKind;
  readonly title: string;
  readonly message: string;
  readonly locations: readonly string[];
  readonly startsAt: string;
  readonly endsAt: string | null;
}

export interface NoticeList {
  readonly active: boolean;
  readonly count: number;
  readonly notices: readonly Notice[];
  /** `continuum`: read from Continuum's own records, whatever the EHR's state. */
  readonly freshness: { readonly source: 'continuum'; readonly asOf: string };
}

const applies = (a: Activation, location: string | undefined, connection: string | undefined): boolean =>
  (location === undefined || a.locations.length === 0 || a.locations.includes(location)) &&
  (connection === undefined || a.connection === undefined || a.connection === connection);

const noticeOf = (a: Activation): Notice => ({
  id: `ntc_${a.id.slice('act_'.length)}`,
  activationId: a.id,
  kind: a.kind,
  title: a.title,
  message: a.message,
  locations: a.locations,
  startsAt: a.startsAt,
  endsAt: a.endsAt ?? null,
});

export async function activeNotices(
  deps: Pick<UseCaseDeps, 'activations' | 'clock'>,
  tenant: Tenant,
  filter: { readonly location: string | undefined; readonly connection: string | undefined },
): Promise<NoticeList> {
  const now = deps.clock.now();
  const notices = (await deps.activations.list(tenant.name))
    .filter((a) => activationStatus(a, now) === 'active' && applies(a, filter.location, filter.connection))
    // The latest declared first: what an IVR reads out first.
    .sort((a, b) => b.startsAt.localeCompare(a.startsAt))
    .map(noticeOf);
  return {
    active: notices.length > 0,
    count: notices.length,
    notices,
    freshness: { source: 'continuum', asOf: now.toISOString() },
  };
}
