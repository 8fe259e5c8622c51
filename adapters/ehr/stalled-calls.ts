/**
 * Sees a hung EHR (it takes connections and never answers) while its calls are still in flight,
 * so the circuit breaker can open within about a second instead of after every call has run out
 * its deadline (2.5 s for reads, 15 s for writes), which is how long each would otherwise hold.
 *
 * The rule: the EHR is stalled when `stalledCalls` calls to it have been in flight longer than the
 * stall time AND it has answered nothing (no success, no error status) for as long. The stall time
 * is `stallAfterMs` (1.2 s by default), or three times the EHR's recent answer time when longer.
 *  - A hung EHR: calls pile up and nothing comes back, so it trips one stall time after the hang,
 *    once a few calls are in flight: about a second under load.
 *  - A busy EHR answering in 1 s: its first answers arrive before the stall time has passed, even
 *    right after it turns slow under load, so it is never silent that long; once it has been slow
 *    a while, its answer time stretches the stall time to about 3 s, so a burst of calls after a
 *    quiet spell does not trip it either. Under light load fewer than `stalledCalls` calls are in
 *    flight at once. The stall time must stay above the slowest answer time the EHR is allowed:
 *    below it, an EHR turning that slow at once under load trips the breaker once.
 * A timeout or a refused connection is not an answer. After a trip, the silence must last the
 * stall time again before the next one.
 */
import { ContinuumError } from '../../src/domain/errors';
import type { EhrClient } from '../../src/domain/ports';

export interface StallWatchOptions {
  /** Calls in flight past the stall time that make a stall; 0 turns the watch off. */
  readonly stalledCalls: number;
  readonly stallAfterMs: number;
  /** Told once per stall, with how many calls were stalled; must not throw. */
  readonly onStall: (stalled: number) => void;
}

/** Weight of the newest answer time in the running average (about the last ten answers). */
const AVERAGE_WEIGHT = 0.2;
/** The stall time is at least this many times the EHR's recent answer time. */
const SLOW_FACTOR = 3;

/** True when the call got no answer from the EHR at all: it timed out or never connected. */
function unanswered(error: unknown): boolean {
  if (!(error instanceof ContinuumError) || error.code !== 'EHR_UNAVAILABLE') return false;
  return error.extra?.timeout === true || error.extra?.network !== undefined;
}

export function watchForStalls<C extends EhrClient>(ehr: C, options: StallWatchOptions): C {
  if (options.stalledCalls <= 0) return ehr;
  const inFlight = new Set<{ readonly startedAt: number }>();
  // Silence is counted from the last answer or the last trip, whichever is later.
  let heardAt = performance.now();
  let averageAnswerMs: number | undefined;
  let timer: NodeJS.Timeout | undefined;

  const stallMs = (): number => Math.max(options.stallAfterMs, SLOW_FACTOR * (averageAnswerMs ?? 0));

  const check = (): void => {
    const now = performance.now();
    const limit = stallMs();
    if (now - heardAt < limit) return;
    let stalled = 0;
    for (const call of inFlight) if (now - call.startedAt >= limit) stalled += 1;
    if (stalled < options.stalledCalls) return;
    heardAt = now;
    options.onStall(stalled);
  };

  const tickMs = Math.min(100, Math.max(20, Math.round(options.stallAfterMs / 10)));
  let lastTickAt: number | undefined;
  const tick = (): void => {
    const now = performance.now();
    const lagged = lastTickAt !== undefined && now - lastTickAt > 3 * tickMs;
    lastTickAt = now;
    // This process itself stalled (CPU, GC): answers may be waiting unread, and timers run before
    // I/O, so judging now would blame the EHR. Look again next tick.
    if (lagged) return;
    // After this turn's I/O, so answers already arrived are counted first.
    setImmediate(check);
  };

  const started = (): { readonly startedAt: number } => {
    const call = { startedAt: performance.now() };
    inFlight.add(call);
    // Checked only while calls are in flight; the timer never keeps the process alive.
    if (timer === undefined) {
      lastTickAt = undefined;
      timer = setInterval(tick, tickMs).unref();
    }
    return call;
  };
  const settled = (call: { readonly startedAt: number }, answered: boolean): void => {
    inFlight.delete(call);
    if (answered) {
      const now = performance.now();
      heardAt = now;
      const took = now - call.startedAt;
      averageAnswerMs =
        averageAnswerMs === undefined ? took : averageAnswerMs + AVERAGE_WEIGHT * (took - averageAnswerMs);
    }
    if (inFlight.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  };

  const watched = <A extends unknown[], R>(method: (...args: A) => Promise<R>) =>
    async function watchedCall(...args: A): Promise<R> {
      const call = started();
      try {
        const result = await method(...args);
        settled(call, true);
        return result;
      } catch (error) {
        settled(call, !unanswered(error));
        throw error;
      }
    };

  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(ehr, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        method = watched((...args: unknown[]) =>
          Promise.resolve((value as (...a: unknown[]) => unknown).apply(target, args)),
        );
        wrapped.set(property, method);
      }
      return method;
    },
  });
}
