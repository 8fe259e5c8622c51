/**
 * How far a site closure got, from the receipts of the writes it queued: a write is done when it
 * succeeded, failed when it failed, needs review or was cancelled (a stop), and remaining until
 * then. A visit the pipeline refused outright counts as failed. The stop switch marks the closure
 * stopped, then cancels what it queued and is not yet sent; the run cancels anything it queued
 * after that, so nothing of a stopped closure reaches the EHR unless it was already on its way.
 */
import type { Tenant } from '../domain/access';
import type { ClosureRecord, ClosureStatus } from '../domain/closure';
import { ContinuumError } from '../domain/errors';
import type { Operation } from '../domain/operation';
import { cancelQueuedWrites, owedPatients } from './run-closure';
import type { ClosureDeps } from './site-closure';

export interface Tally {
  readonly total: number;
  readonly done: number;
  /** Failed or needing review in the EHR, or refused when queued (the visit vanished). */
  readonly failed: number;
  /** Cancelled by the stop switch, or never queued because of it. */
  readonly cancelled: number;
  readonly remaining: number;
}

export interface ClosureView {
  readonly id: string;
  readonly status: ClosureStatus;
  readonly action: ClosureRecord['action'];
  readonly mode: 'video' | 'phone' | null;
  readonly connection: string;
  readonly locations: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly activationId: string | null;
  readonly appointments: Tally;
  readonly callbacks: Tally & {
    /** Queued without a callback window: every window in the search horizon was full. */
    readonly unscheduled: number;
  };
  readonly percent: number;
  readonly ratePerMinute: number;
  readonly eta: string | null;
  /** Why finding failed, or why it is being tried again (no PHI). */
  readonly lastError: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly stoppedAt: string | null;
}

type Outcome = 'done' | 'failed' | 'cancelled' | 'remaining';

/** `willRun`: a write not queued yet that will be (always, unless the closure is stopped). */
function outcomeOf(op: Operation | undefined, willRun: boolean): Outcome {
  if (op === undefined) return willRun ? 'remaining' : 'cancelled';
  if (op.status === 'succeeded') return 'done';
  if (op.status === 'failed' || op.status === 'needs-review') return 'failed';
  if (op.status === 'cancelled') return 'cancelled';
  return 'remaining';
}

async function tally(
  deps: Pick<ClosureDeps, 'store'>,
  items: readonly { readonly operationId?: string; readonly refused?: string }[],
  willRun: (index: number) => boolean,
): Promise<{ tally: Tally; finishedAt: string[] }> {
  const counts: Record<Outcome, number> = { done: 0, failed: 0, cancelled: 0, remaining: 0 };
  const finishedAt: string[] = [];
  const ops = await Promise.all(
    items.map((item) =>
      item.operationId === undefined ? Promise.resolve(undefined) : deps.store.get(item.operationId),
    ),
  );
  items.forEach((item, index) => {
    if (item.refused !== undefined) {
      counts.failed += 1;
      return;
    }
    const op = ops[index];
    const outcome = outcomeOf(op, willRun(index));
    counts[outcome] += 1;
    if (outcome !== 'remaining' && op !== undefined) finishedAt.push(op.updatedAt);
  });
  return { tally: { total: items.length, ...counts }, finishedAt };
}

export async function closureView(
  deps: Pick<ClosureDeps, 'store' | 'closures' | 'clock'>,
  record: ClosureRecord,
): Promise<ClosureView> {
  const stoppedAt = await deps.closures.stoppedAt(record.id);
  // Stopped, a closure queues no more changes, but still calls the patients whose visits it changed.
  const owed = stoppedAt === undefined ? undefined : (await owedPatients(deps, record)).owed;
  const [appointments, callbacks] = await Promise.all([
    tally(deps, record.targets, () => owed === undefined),
    tally(deps, record.callbacks, (i) => {
      const patientId = record.callbacks[i]?.patientId;
      return owed === undefined || (patientId !== undefined && owed.has(patientId));
    }),
  ]);
  const remaining = appointments.tally.remaining + callbacks.tally.remaining;
  const total = appointments.tally.total + callbacks.tally.total;
  const finished = total - remaining;
  const status: ClosureStatus =
    record.phase === 'failed'
      ? 'failed'
      : stoppedAt !== undefined
        ? 'stopped'
        : record.phase === 'finding'
          ? 'finding'
          : record.phase === 'queued' && remaining === 0
            ? 'completed'
            : 'running';
  const now = deps.clock.now().getTime();
  const started = record.queuingStartedAt === undefined ? undefined : Date.parse(record.queuingStartedAt);
  const lastFinish = [...appointments.finishedAt, ...callbacks.finishedAt].reduce(
    (latest, at) => Math.max(latest, Date.parse(at)),
    0,
  );
  // Over the run so far: until the run is over, to now; after, to its last finished write.
  const end = remaining === 0 && lastFinish > 0 ? lastFinish : now;
  const minutes = started === undefined ? 0 : Math.max(end - started, 1000) / 60_000;
  const ratePerMinute = minutes > 0 ? Math.round((finished / minutes) * 10) / 10 : 0;
  const active = status === 'running' || status === 'finding';
  const eta =
    active && remaining > 0 && ratePerMinute > 0
      ? new Date(now + (remaining / ratePerMinute) * 60_000).toISOString()
      : null;
  const percent =
    total === 0 ? (status === 'completed' ? 100 : 0) : Math.round((finished / total) * 1000) / 10;
  return {
    id: record.id,
    status,
    action: record.action,
    mode: record.action === 'convert-to-virtual' ? (record.mode ?? 'video') : null,
    connection: record.connection,
    locations: record.locations,
    from: record.from,
    to: record.to,
    activationId: record.activationId ?? null,
    appointments: appointments.tally,
    callbacks: {
      ...callbacks.tally,
      unscheduled: record.callbacks.filter((c) => c.unscheduled === true && c.refused === undefined).length,
    },
    percent,
    ratePerMinute,
    eta,
    lastError: record.lastError ?? null,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    stoppedAt: stoppedAt ?? null,
  };
}

/** Another tenant's closure is answered like one that does not exist. */
export async function visibleClosure(
  deps: Pick<ClosureDeps, 'closures'>,
  id: string,
  tenant: Tenant,
): Promise<ClosureRecord> {
  const record = await deps.closures.get(id);
  if (record === undefined || record.owner.tenant !== tenant.name) {
    throw new ContinuumError('NOT_FOUND', { detail: 'no site closure with this id' });
  }
  return record;
}

/**
 * The record is read again after the stop is recorded. The run saves its record, then looks for a
 * stop: a record read before the stop could miss writes the run queued meanwhile, while the run,
 * having looked before the stop, would not cancel them either, and they would all be sent.
 */
export async function stopClosure(deps: ClosureDeps, id: string, tenant: Tenant): Promise<ClosureView> {
  const visible = await visibleClosure(deps, id, tenant);
  await deps.closures.stop(id, deps.clock.now().toISOString());
  const record = (await deps.closures.get(id)) ?? visible;
  const cancelled = await cancelQueuedWrites(deps, record);
  deps.logger.info({ closureId: id, cancelled }, 'site closure stopped by an operator');
  return closureView(deps, (await deps.closures.get(id)) ?? record);
}
