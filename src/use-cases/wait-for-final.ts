/**
 * `Prefer: wait=N`: on a normal day the EHR answers in milliseconds and the caller gets the final
 * receipt at once; on a bad day it gets 202 after N seconds and follows the receipt.
 */
import { TERMINAL_STATUSES, type Operation } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

export async function waitForFinal(
  deps: Pick<UseCaseDeps, 'store'>,
  op: Operation,
  seconds: number,
): Promise<Operation> {
  const deadline = Date.now() + seconds * 1000;
  let current = op;
  let pause = 10;
  while (!TERMINAL_STATUSES.has(current.status) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(1, deadline - Date.now()))));
    pause = Math.min(200, pause * 2);
    current = (await deps.store.get(op.id)) ?? current;
  }
  return current;
}
