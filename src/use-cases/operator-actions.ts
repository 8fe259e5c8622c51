/**
 * What an operator can do to a write: retry one that failed or needs review (after fixing its
 * cause), or cancel one that has not been sent yet. Both are compare-and-set on the stored status,
 * so they cannot race a worker into sending a cancelled write or losing a retried one.
 */
import { ContinuumError } from '../domain/errors';
import { transition, urgencyOf, type Operation } from '../domain/operation';
import type { Tenant } from '../domain/access';
import { visibleOrNotFound } from './tenant-visibility';
import type { UseCaseDeps } from './use-case-deps';

async function load(deps: Pick<UseCaseDeps, 'store'>, id: string, tenant: Tenant): Promise<Operation> {
  return visibleOrNotFound(tenant, await deps.store.get(id));
}

export async function retryOperation(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'logger' | 'connections'>,
  id: string,
  tenant: Tenant,
  options: {
    readonly note?: string;
    /**
     * Apply with the running profile version instead of the one the write was accepted under: what
     * an operator retrying one write after fixing its profile wants. A bulk replay does not: it
     * sends each write as it was accepted.
     */
    readonly repin?: boolean;
  } = {},
): Promise<Operation> {
  const { note = 'retried by an operator', repin = true } = options;
  const op = await load(deps, id, tenant);
  if (op.status !== 'failed' && op.status !== 'needs-review') {
    throw new ContinuumError('CONFLICT', {
      detail: `only failed or needs-review operations can be retried; this one is ${op.status}`,
    });
  }
  // The agent's base version is what made it conflict; a retry applies the change to the current one.
  const payload = { ...op.payload, baseVersion: undefined };
  // A retry applies with the running profile version: the fix to a profile that failed the write.
  const running = repin ? deps.connections.get(op.connection)?.mapping : undefined;
  const repinned = running !== undefined && running.hash !== op.mappingHash ? running : undefined;
  const retried = transition(
    {
      ...op,
      payload,
      review: undefined,
      ...(repinned ? { mappingProfile: repinned.name, mappingHash: repinned.hash } : {}),
    },
    {
      status: 'queued',
      note: repinned
        ? `${note}; profile ${repinned.name} ${repinned.hash.slice(0, 12)} (was ${op.mappingHash.slice(0, 12)})`
        : note,
    },
    deps.clock.now(),
  );
  if (!(await deps.store.saveIf(retried, op.status))) {
    throw new ContinuumError('CONFLICT', { detail: 'the operation changed meanwhile; read it again' });
  }
  const { lanePosition } = await deps.store.requeue(retried);
  if (lanePosition === 1) await deps.queue.enqueue(retried, urgencyOf(retried), { fresh: true });
  else if (urgencyOf(retried) === 'urgent') {
    const [head] = await deps.store.laneOperations(retried.lane, 1);
    if (head !== undefined) await deps.queue.raise(retried.connection, head.id, 'urgent');
  }
  deps.logger.info({ operationId: id, lanePosition }, 'operation re-queued');
  return retried;
}

export async function cancelOperation(
  deps: Pick<UseCaseDeps, 'store' | 'clock' | 'logger'>,
  id: string,
  tenant: Tenant,
): Promise<Operation> {
  const op = await load(deps, id, tenant);
  if (op.status !== 'queued' || op.attempts > 0) {
    throw new ContinuumError('CONFLICT', {
      detail:
        op.status === 'queued'
          ? 'this operation was already sent to the EHR at least once; it cannot be cancelled'
          : `only operations not yet sent can be cancelled; this one is ${op.status}`,
    });
  }
  const cancelled = transition(
    op,
    { status: 'cancelled', note: 'cancelled by an operator' },
    deps.clock.now(),
  );
  if (!(await deps.store.saveIf(cancelled, 'queued'))) {
    throw new ContinuumError('CONFLICT', {
      detail: 'the operation is being sent; it can no longer be cancelled',
    });
  }
  deps.logger.info({ operationId: id }, 'operation cancelled');
  return cancelled;
}
