/**
 * `expectedBy` on a receipt: when a waiting write should reach the EHR, from the drain rate of the
 * last minute and the write's place in the order (see WriteQueue.jobsAhead). An estimate for the
 * caller, never a promise: nothing waits on it.
 */
import { TERMINAL_STATUSES, type Operation } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

export type ArrivalDeps = Pick<UseCaseDeps, 'queue' | 'drain' | 'connections' | 'clock' | 'logger'>;

/**
 * Undefined when the write is final, or when no estimate can be made: its EHR is down, nothing has
 * drained in the last minute, or Redis did not answer.
 */
export async function expectedArrival(deps: ArrivalDeps, op: Operation): Promise<Date | undefined> {
  if (TERMINAL_STATUSES.has(op.status)) return undefined;
  const connection = deps.connections.get(op.connection);
  if (connection === undefined || !(await connection.ehrAvailable())) return undefined;
  try {
    const [perSecond, ahead] = await Promise.all([
      deps.drain.ratePerSecond(op.connection),
      deps.queue.jobsAhead(op),
    ]);
    if (perSecond <= 0) return undefined;
    // Its own turn counts too: the jobs ahead, then itself.
    return new Date(deps.clock.now().getTime() + Math.ceil(((ahead + 1) / perSecond) * 1000));
  } catch (error) {
    deps.logger.debug({ operationId: op.id, err: error }, 'no arrival estimate: the queue did not answer');
    return undefined;
  }
}
