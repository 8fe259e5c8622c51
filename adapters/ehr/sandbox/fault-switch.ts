import type { FaultKind, FaultMode, FaultModeInput } from './fault-mode';
import { FaultModeError, parseFaultMode } from './fault-mode';
import type { CapacityState, CapacityTicket } from './capacity-gate';
import { CapacityGate } from './capacity-gate';
import type { CapacityWindowReport } from './capacity-window';
import { SeededRandom } from './seed-random';
import type { SandboxLogger } from './types';

export interface FaultCounters {
  /** FHIR requests that reached the switch, in scope of the path filter or not. */
  seen: number;
  /** Handled normally (possibly after a delay). */
  passed: number;
  /** Passed after an added latency. */
  delayed: number;
  /** Failed before the handler ran: nothing was stored. */
  failed: number;
  /** The write was committed, then its answer was lost. */
  failedAfterCommit: number;
}

export interface FaultPeriod {
  readonly mode: FaultMode;
  readonly since: string;
  readonly counters: FaultCounters;
}

export interface FaultState extends FaultPeriod {
  /** When the mode returns to `up` by itself, or null. */
  readonly expiresAt: string | null;
  /** The period before this one, so a drill's numbers survive the reset that ends it. */
  readonly previous:
    (FaultPeriod & { readonly until: string; readonly ended: 'replaced' | 'expired' }) | null;
}

/** The programmatic control surface, as `sandbox.faults`. */
export interface FaultControl {
  /** Validates (throws FaultModeError naming the field) and applies a mode; counters start again from zero. */
  set(mode: FaultModeInput): FaultState;
  get(): FaultState;
  /** Back to `up`. */
  reset(): FaultState;
}

export type FaultDecision =
  | { readonly action: 'pass' }
  | { readonly action: 'delay'; readonly ms: number }
  | { readonly action: 'fail'; readonly kind: FaultKind; readonly retryAfterSeconds: number | undefined }
  /** Wait for a slot of the capacity limit, hold it, then run the handler; report the answer to the ticket. */
  | { readonly action: 'hold'; readonly ticket: CapacityTicket }
  | {
      readonly action: 'fail-after-commit';
      readonly mode: 'reset' | 'http500';
      /** Called once the handler has answered: only a successful answer means something was committed. */
      readonly settle: (committed: boolean) => void;
    };

export interface FaultSwitchOptions {
  readonly logger?: SandboxLogger | undefined;
  readonly initial?: FaultModeInput | undefined;
  /** Epoch milliseconds; tests substitute their own clock. */
  readonly now?: () => number;
  /** A monotonic clock in ms for the capacity mode's latencies; tests substitute their own. */
  readonly elapsed?: () => number;
}

const WRITE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

interface Period {
  readonly mode: FaultMode;
  readonly since: number;
  readonly expiresAt: number | undefined;
  // Decisions keep a reference to their period's counters, so an answer settled after a mode change is
  // still counted where it was decided.
  readonly counters: FaultCounters;
}

interface PastPeriod extends Period {
  readonly until: number;
  readonly ended: 'replaced' | 'expired';
}

/**
 * The sandbox's fault mode and the per-request decisions it implies. One per sandbox, changed at run time;
 * a time limit is checked on each use rather than by a timer, so nothing is left running after close.
 */
export class FaultSwitch implements FaultControl {
  private readonly logger: SandboxLogger | undefined;
  private readonly now: () => number;
  private readonly capacity: CapacityGate;
  private current: Period;
  private previous: PastPeriod | undefined;
  private random = new SeededRandom(0);

  constructor(options: FaultSwitchOptions = {}) {
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.capacity = new CapacityGate(options.elapsed);
    this.current = {
      mode: { mode: 'up' },
      since: this.now(),
      expiresAt: undefined,
      counters: zeroCounters(),
    };
    if (options.initial !== undefined) {
      this.set(options.initial);
      // The start-up mode has no history worth reporting.
      this.previous = undefined;
    }
  }

  set(input: FaultModeInput): FaultState {
    const parsed = parseFaultMode(input);
    const now = this.now();
    const expiresAt = endOf(parsed, now);
    const mode = withSeed(parsed);
    this.expire(now);
    this.previous = { ...this.current, until: now, ended: 'replaced' };
    this.current = { mode, since: now, expiresAt, counters: zeroCounters() };
    if ('seed' in mode && mode.seed !== undefined) {
      this.random = new SeededRandom(mode.seed);
    }
    if (mode.mode === 'capacity') {
      this.capacity.start(mode, now);
    } else {
      this.capacity.stop(now);
    }
    this.logger?.info(
      {
        faultMode: mode,
        expiresAt: expiresAt === undefined ? null : new Date(expiresAt).toISOString(),
        previousMode: this.previous.mode.mode,
        previousCounters: this.previous.counters,
        ...this.endedCapacity(),
      },
      'sandbox EHR fault mode changed',
    );
    return this.get();
  }

  get(): FaultState {
    this.expire(this.now());
    const { mode, since, counters } = periodView(this.current);
    return {
      mode,
      since,
      expiresAt: this.current.expiresAt === undefined ? null : new Date(this.current.expiresAt).toISOString(),
      counters,
      previous:
        this.previous === undefined
          ? null
          : {
              ...periodView(this.previous),
              until: new Date(this.previous.until).toISOString(),
              ended: this.previous.ended,
            },
    };
  }

  reset(): FaultState {
    return this.set({ mode: 'up' });
  }

  /** The capacity mode's occupancy and measuring windows (see CapacityState). */
  capacityState(): CapacityState {
    this.expire(this.now());
    return this.capacity.state();
  }

  /** Starts a new measuring window, keeping the mode, the slots and the requests waiting for them. */
  resetCapacity(): CapacityState {
    const now = this.now();
    this.expire(now);
    this.capacity.reset(now);
    return this.capacity.state();
  }

  /** What to do with one FHIR request; `path` is relative to the FHIR base (`/Patient/123`). */
  decide(method: string, path: string): FaultDecision {
    this.expire(this.now());
    const { mode, counters } = this.current;
    counters.seen++;
    if (mode.mode === 'up' || !inScope(mode.paths, path) || servedWithoutCredentials(mode, path)) {
      counters.passed++;
      return { action: 'pass' };
    }
    switch (mode.mode) {
      case 'down':
        counters.failed++;
        return { action: 'fail', kind: mode.kind, retryAfterSeconds: mode.retryAfterSeconds };
      case 'slow': {
        counters.passed++;
        counters.delayed++;
        const jitter = mode.jitterMs > 0 ? Math.floor(this.random.next() * (mode.jitterMs + 1)) : 0;
        return { action: 'delay', ms: mode.latencyMs + jitter };
      }
      case 'flaky':
        return this.flaky(mode, counters, method);
      case 'capacity': {
        // Drawn on arrival, so the same seed and arrival order give the same latencies whatever the queueing.
        const jitter = mode.jitterMs > 0 ? Math.floor(this.random.next() * (mode.jitterMs + 1)) : 0;
        const ticket = this.capacity.admit(mode.latencyMs + jitter);
        if (ticket === undefined) {
          counters.failed++;
          return { action: 'fail', kind: 'http429', retryAfterSeconds: mode.retryAfterSeconds };
        }
        counters.passed++;
        counters.delayed++;
        return { action: 'hold', ticket };
      }
    }
  }

  private flaky(
    mode: Extract<FaultMode, { mode: 'flaky' }>,
    counters: FaultCounters,
    method: string,
  ): FaultDecision {
    // Two draws for every request, failing or not, so the n-th request meets the same fate whatever the
    // methods of the ones before it.
    const failRoll = this.random.next();
    const commitRoll = this.random.next();
    if (failRoll >= mode.failureRate) {
      counters.passed++;
      return { action: 'pass' };
    }
    if (WRITE_METHODS.has(method) && commitRoll < mode.afterCommitRate) {
      let settled = false;
      return {
        action: 'fail-after-commit',
        mode: mode.afterCommitMode,
        settle: (committed) => {
          if (settled) {
            return;
          }
          settled = true;
          if (committed) {
            counters.failedAfterCommit++;
          } else {
            counters.failed++;
          }
        },
      };
    }
    counters.failed++;
    return { action: 'fail', kind: mode.kind, retryAfterSeconds: mode.retryAfterSeconds };
  }

  private expire(now: number): void {
    const { expiresAt } = this.current;
    if (expiresAt === undefined || now < expiresAt) {
      return;
    }
    this.previous = { ...this.current, until: expiresAt, ended: 'expired' };
    this.current = { mode: { mode: 'up' }, since: expiresAt, expiresAt: undefined, counters: zeroCounters() };
    this.capacity.stop(expiresAt);
    this.logger?.info(
      {
        faultMode: this.current.mode,
        expiredAt: new Date(expiresAt).toISOString(),
        previousMode: this.previous.mode.mode,
        previousCounters: this.previous.counters,
        ...this.endedCapacity(),
      },
      'sandbox EHR fault mode expired',
    );
  }

  /** A capacity drill's figures outlive the sandbox process in its log (counts and latencies only). */
  private endedCapacity(): { previousCapacity?: CapacityWindowReport } {
    const ended = this.previous?.mode.mode === 'capacity' ? this.capacity.state().previous : null;
    return ended === null ? {} : { previousCapacity: ended };
  }
}

function zeroCounters(): FaultCounters {
  return { seen: 0, passed: 0, delayed: 0, failed: 0, failedAfterCommit: 0 };
}

function periodView(period: Period): FaultPeriod {
  return { mode: period.mode, since: new Date(period.since).toISOString(), counters: { ...period.counters } };
}

function endOf(mode: FaultMode, now: number): number | undefined {
  if (mode.mode === 'up') {
    return undefined;
  }
  if (mode.untilMs !== undefined) {
    if (mode.untilMs <= now) {
      throw new FaultModeError([{ field: 'untilMs', message: 'must be in the future' }]);
    }
    return mode.untilMs;
  }
  return mode.durationMs === undefined ? undefined : now + mode.durationMs;
}

/** A mode that draws random numbers always carries its seed, so `get()` shows how to repeat the run. */
function withSeed(mode: FaultMode): FaultMode {
  if (
    (mode.mode === 'slow' || mode.mode === 'flaky' || mode.mode === 'capacity') &&
    mode.seed === undefined
  ) {
    return { ...mode, seed: Math.floor(Math.random() * 0x100000000) };
  }
  return mode;
}

/** A server refusing the client's credentials still serves its CapabilityStatement, which needs none. */
function servedWithoutCredentials(mode: FaultMode, path: string): boolean {
  if (mode.mode !== 'down' && mode.mode !== 'flaky') return false;
  if (mode.kind !== 'http401' && mode.kind !== 'http403') return false;
  return path.replace(/^\/+/, '').split('/')[0] === 'metadata';
}

function inScope(paths: readonly string[] | undefined, path: string): boolean {
  if (paths === undefined) {
    return true;
  }
  const relative = path.replace(/^\/+/, '');
  return paths.some((prefix) =>
    prefix === '' ? relative === '' : relative === prefix || relative.startsWith(`${prefix}/`),
  );
}
