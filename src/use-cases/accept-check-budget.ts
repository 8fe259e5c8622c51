/**
 * The EHR checks made before a write is queued (its patient, slot or appointment) share one short
 * budget, `acceptCheckMs`. An EHR that answers within it refuses an unknown patient or a taken slot
 * at once, as always; past it the write is queued not yet confirmed, and the worker meets the
 * EHR's verdict when it sends the write. A hung EHR thus costs an agent's write the budget, not the
 * full read deadline.
 *
 * The check itself is not cut short at the budget: it runs on to the read deadline, so a late
 * answer still confirms the patient for the next write, and the calls to a hung EHR stay in
 * flight where the circuit breaker's stall rule can see them.
 */
import type { ConnectionContext } from './use-case-deps';

/** What a check that did not answer within the budget yields. */
export const NOT_YET = Symbol('not answered within the accept-check budget');

export interface AcceptCheckBudget {
  /** The check's answer, or NOT_YET once the budget is spent; a late failure is dropped. */
  within<T>(check: () => Promise<T>): Promise<T | typeof NOT_YET>;
}

export function acceptCheckBudget(connection: Pick<ConnectionContext, 'acceptCheckMs'>): AcceptCheckBudget {
  const endsAt = performance.now() + connection.acceptCheckMs;
  return {
    async within(check) {
      const left = endsAt - performance.now();
      // Spent on earlier checks of this write: a new request would only be answered after the 202.
      if (left <= 0) return NOT_YET;
      const answer = check();
      // Past the budget nobody awaits the answer; a failure then has no one left to tell.
      answer.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<typeof NOT_YET>((resolve) => {
        timer = setTimeout(() => {
          resolve(NOT_YET);
        }, left);
      });
      try {
        return await Promise.race([answer, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
