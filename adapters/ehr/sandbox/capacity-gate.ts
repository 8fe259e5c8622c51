import type { CapacityMode } from './fault-mode';
import type { CapacityWindowReport } from './capacity-window';
import { CapacityWindow } from './capacity-window';

/** One admitted request's place at the limit. */
export interface CapacityTicket {
  /**
   * Calls `serve` once the request holds a slot (at once when one is free), with how long it keeps the slot
   * before its handler may run.
   */
  whenServed(serve: (holdMs: number) => void): void;
  /** Called when the sandbox leaves `capacity` while the request holds its slot: the hold ends at once. */
  onRelease(release: () => void): void;
  /** The answer is out (`answered`) or the client is gone: frees the slot and records the request. */
  done(answered: boolean): void;
}

export interface CapacityState {
  /** True while the fault mode is `capacity`. */
  readonly active: boolean;
  /** The capacity mode in force, with its defaults filled in; null when another mode is. */
  readonly mode: CapacityMode | null;
  /** Requests holding a slot now. */
  readonly inFlight: number;
  /** Requests waiting for a slot now. */
  readonly waiting: number;
  /** Since the mode was set or the last reset; null when the mode is not `capacity`. */
  readonly window: CapacityWindowReport | null;
  /** The window before, ended by a reset or a change of mode; its pending requests still count in it. */
  readonly previous: CapacityWindowReport | null;
}

/** Reads and resets the capacity figures: `sandbox.capacity`. */
export interface CapacityControl {
  get(): CapacityState;
  /** Ends the current window and starts a new one; the answer carries the ended one as `previous`. */
  reset(): CapacityState;
}

interface Waiter {
  readonly window: CapacityWindow;
  readonly arrivedAt: number;
  holdMs: number;
  grantedAt: number | undefined;
  serve: ((holdMs: number) => void) | undefined;
  release: (() => void) | undefined;
  finished: boolean;
}

/**
 * The slots of an EHR with limited capacity and the line in front of them. One per sandbox, kept across
 * mode changes, so a new capacity never lets the requests already being served run beside a fresh set of
 * slots. When the sandbox leaves `capacity` (for `up` or any other mode), the limit is gone: requests
 * holding a slot and those waiting for one are handled at once, without the rest of their latency.
 */
export class CapacityGate {
  private mode: CapacityMode | undefined;
  private readonly queue: Waiter[] = [];
  private readonly serving = new Set<Waiter>();
  private window: CapacityWindow | undefined;
  private previous: CapacityWindow | undefined;

  /** `elapsed`: a monotonic clock in ms, for durations; window bounds are the epoch ms callers pass. */
  constructor(private readonly elapsed: () => number = () => performance.now()) {}

  start(mode: CapacityMode, at: number): void {
    this.mode = mode;
    this.newWindow(at);
    this.pump();
  }

  stop(at: number): void {
    this.mode = undefined;
    if (this.window !== undefined) {
      this.window.end(at);
      this.previous = this.window;
      this.window = undefined;
    }
    for (const waiter of this.serving) {
      waiter.release?.();
    }
    this.pump();
  }

  reset(at: number): void {
    if (this.mode !== undefined) {
      this.newWindow(at);
    }
  }

  /** A place at the limit, or undefined when every slot is busy and the queue is full (answer 429). */
  admit(holdMs: number): CapacityTicket | undefined {
    const { mode, window } = this;
    if (mode === undefined || window === undefined) {
      throw new Error('the capacity gate admits requests only in capacity mode');
    }
    window.arrival();
    const waiter: Waiter = {
      window,
      arrivedAt: this.elapsed(),
      holdMs,
      grantedAt: undefined,
      serve: undefined,
      release: undefined,
      finished: false,
    };
    if (this.serving.size < mode.concurrent && this.queue.length === 0) {
      this.grant(waiter);
    } else if (this.queue.length < mode.queueDepth) {
      this.queue.push(waiter);
      window.occupancy(this.serving.size, this.queue.length);
    } else {
      window.throttle();
      return undefined;
    }
    return {
      whenServed: (serve) => {
        waiter.serve = serve;
        if (waiter.grantedAt !== undefined) {
          serve(waiter.holdMs);
        }
      },
      onRelease: (release) => {
        waiter.release = release;
      },
      done: (answered) => {
        this.finish(waiter, answered);
      },
    };
  }

  state(): CapacityState {
    return {
      active: this.mode !== undefined,
      mode: this.mode ?? null,
      inFlight: this.serving.size,
      waiting: this.queue.length,
      window: this.window?.report() ?? null,
      previous: this.previous?.report() ?? null,
    };
  }

  private newWindow(at: number): void {
    if (this.window !== undefined) {
      this.window.end(at);
      this.previous = this.window;
    }
    this.window = new CapacityWindow(at, { inFlight: this.serving.size, waiting: this.queue.length });
  }

  private grant(waiter: Waiter): void {
    this.serving.add(waiter);
    waiter.grantedAt = this.elapsed();
    this.window?.occupancy(this.serving.size, this.queue.length);
    waiter.serve?.(waiter.holdMs);
  }

  private finish(waiter: Waiter, answered: boolean): void {
    if (waiter.finished || waiter.grantedAt === undefined) {
      return;
    }
    waiter.finished = true;
    this.serving.delete(waiter);
    const end = this.elapsed();
    waiter.window.finished(answered, end - waiter.arrivedAt, waiter.grantedAt - waiter.arrivedAt);
    this.pump();
  }

  private pump(): void {
    for (;;) {
      const room = this.mode === undefined || this.serving.size < this.mode.concurrent;
      const next = room ? this.queue.shift() : undefined;
      if (next === undefined) {
        return;
      }
      if (this.mode === undefined) {
        next.holdMs = 0;
      }
      this.grant(next);
    }
  }
}
