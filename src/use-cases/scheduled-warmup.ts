/**
 * Cache warm-up on a schedule across processes: a lease held for most of an interval makes one
 * process per connection run it per interval; a run stops at shutdown and before its lease runs out.
 */
import type { RunLock } from '../domain/ports';
import type { UseCaseDeps } from './use-case-deps';
import { warmCache, WARMUP_MAX_PATIENTS, type WarmupResult } from './warm-cache';

/** A warm-up run, or `locked` when another run (any process) holds the connection's lease. */
export type WarmupRun = ({ readonly locked: false } & WarmupResult) | { readonly locked: true };

export interface ScheduledWarmup {
  run(connection: string): Promise<WarmupRun>;
  /** Stops runs in progress and refuses new ones; resolves once running ones have ended. */
  stop(): Promise<void>;
}

export function createScheduledWarmup(
  deps: UseCaseDeps,
  options: {
    readonly lock: RunLock;
    readonly intervalMs: number;
    readonly days: number;
    readonly locations: readonly string[];
  },
): ScheduledWarmup {
  const stopping = new AbortController();
  const running = new Map<string, Promise<WarmupResult>>();
  return {
    async run(name) {
      const context = deps.connections.get(name);
      if (!context) throw new Error(`no EHR connection named ${name}`);
      if (running.has(name) || stopping.signal.aborted) return { locked: true };
      const leaseMs = Math.round(options.intervalMs * 0.9);
      if (!(await options.lock.claim(`warmup-lock:${name}`, leaseMs))) return { locked: true };
      const now = deps.clock.now().getTime();
      const run = warmCache(deps, context, {
        days: options.days,
        locations: options.locations,
        maxPatients: WARMUP_MAX_PATIENTS,
        nextRunAt: new Date(now + options.intervalMs),
        deadline: new Date(now + leaseMs),
        signal: stopping.signal,
      });
      running.set(name, run);
      try {
        return { locked: false, ...(await run) };
      } finally {
        running.delete(name);
      }
    },
    async stop() {
      stopping.abort();
      await Promise.allSettled(running.values());
    },
  };
}
