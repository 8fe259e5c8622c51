/**
 * After an operation is final, its lane moves on: the next operation for the same patient gets a
 * worker. Operations cancelled while they waited are stepped over without a job.
 */
import { TERMINAL_STATUSES, type Operation } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

/** A lane is bounded by what agents can submit for one patient; this only guards against a loop. */
const MAX_STEPS = 10000;

export async function continueLane(
  deps: Pick<UseCaseDeps, 'store' | 'queue' | 'logger'>,
  finished: Operation,
): Promise<void> {
  let current: Pick<Operation, 'id' | 'lane' | 'connection'> = finished;
  for (let step = 0; step < MAX_STEPS; step++) {
    const nextId = await deps.store.advanceLane(current as Operation);
    if (nextId === undefined) return;
    const next = await deps.store.get(nextId);
    if (next === undefined) {
      deps.logger.warn({ operationId: nextId }, 'lane entry without a record (expired); skipped');
      current = { id: nextId, lane: current.lane, connection: current.connection };
      continue;
    }
    if (TERMINAL_STATUSES.has(next.status)) {
      current = next;
      continue;
    }
    // Served at the lane's urgency: an urgent write further back pulls its lane forward.
    await deps.queue.enqueue(next, await deps.store.laneUrgency(next.lane));
    return;
  }
}
