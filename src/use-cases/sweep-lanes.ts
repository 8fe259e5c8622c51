/**
 * Lane repair. A lane whose head has no live job (a crash between storing an operation and
 * enqueueing it, or between finishing one and waking the next) would wait forever; the sweeper
 * finds such lanes and moves them on. Everything it does is idempotent, so any number of worker
 * processes may sweep at once.
 */
import { TERMINAL_STATUSES } from '../domain/operation';
import { continueLane } from './continue-lane';
import { giveUpOperation } from './give-up-operation';
import type { UseCaseDeps } from './use-case-deps';

export interface SweepResult {
  readonly lanes: number;
  readonly repaired: number;
}

export async function sweepLanes(deps: UseCaseDeps, connection: string): Promise<SweepResult> {
  const heads = await deps.store.laneHeads(connection);
  let repaired = 0;
  for (const { lane, head } of heads) {
    const op = await deps.store.get(head);
    if (op === undefined || TERMINAL_STATUSES.has(op.status)) {
      await continueLane(deps, op ?? ({ id: head, lane, connection } as never));
      repaired++;
      continue;
    }
    const presence = await deps.queue.jobPresence(op);
    if (presence === 'missing') {
      await deps.queue.enqueue(op, await deps.store.laneUrgency(lane));
      repaired++;
    } else if (presence === 'present') {
      // An urgent write's raise of its lane head can be lost (a crash, Redis away for a moment).
      if ((await deps.store.laneUrgency(lane)) === 'urgent')
        await deps.queue.raise(connection, op.id, 'urgent');
    } else {
      await giveUpOperation(deps, op.id);
      repaired++;
    }
  }
  if (repaired > 0)
    deps.logger.warn({ connection, lanes: heads.length, repaired }, 'lane sweeper repaired lanes');
  return { lanes: heads.length, repaired };
}
