/**
 * `Prefer: wait=N`: on a normal day the EHR answers in milliseconds and the caller gets the final
 * receipt at once; on a bad day it gets 202 after N seconds and follows the receipt.
 *
 * The caller is woken by the signal the store sends when the operation is saved final, from
 * whichever process applied it, and then reads the record: a few Redis reads per wait however long
 * it is, where polling made dozens. Signals can be lost (a subscriber reconnecting), so the record
 * is also read every `SAFETY_READ_MS`: a lost signal costs that much latency, never the whole wait.
 */
import { TERMINAL_STATUSES, type Operation } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

export const SAFETY_READ_MS = 1500;

export async function waitForFinal(
  deps: Pick<UseCaseDeps, 'store' | 'finalSignals'>,
  op: Operation,
  seconds: number,
): Promise<Operation> {
  if (TERMINAL_STATUSES.has(op.status)) return op;
  const deadline = Date.now() + seconds * 1000;
  const watch = await deps.finalSignals.watch(op.id);
  try {
    // Read once the watch listens: the write may have finished before it did.
    let current = (await deps.store.get(op.id)) ?? op;
    while (!TERMINAL_STATUSES.has(current.status)) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      await watch.next(Math.min(SAFETY_READ_MS, left));
      current = (await deps.store.get(op.id)) ?? current;
    }
    return current;
  } finally {
    watch.stop();
  }
}
