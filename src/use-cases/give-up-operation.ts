/**
 * A write whose every attempt failed (days of outage past the retry budget, or a job that kept
 * crashing workers) becomes `failed`, visible to operators for replay; its lane moves on.
 */
import { TERMINAL_STATUSES, transition } from '../domain/operation';
import { continueLane } from './continue-lane';
import type { UseCaseDeps } from './use-case-deps';

export async function giveUpOperation(deps: UseCaseDeps, operationId: string): Promise<void> {
  const op = await deps.store.get(operationId);
  if (!op || TERMINAL_STATUSES.has(op.status)) return;
  const failed = transition(
    op,
    {
      status: 'failed',
      error: op.lastError ?? {
        code: 'INTERNAL',
        status: 500,
        retryable: true,
        detail: 'every attempt failed',
      },
      note: 'gave up after the last attempt; replay it once the cause is fixed',
    },
    deps.clock.now(),
  );
  await deps.store.save(failed);
  await continueLane(deps, failed);
}
