import type { LatencySummary } from './latency-histogram';
import { LatencyHistogram } from './latency-histogram';

/** What the sandbox did with the requests that arrived in one window, as `GET /capacity` shows it. */
export interface CapacityWindowReport {
  readonly since: string;
  /** When the window ended (a reset or a change of mode); null while it is the current one. */
  readonly until: string | null;
  /** Requests that reached the capacity limit (those outside `paths` never do). */
  readonly arrived: number;
  /** Answered after holding a slot. */
  readonly served: number;
  /** Answered 429: every slot busy and the queue full. */
  readonly throttled: number;
  /** The client left before its answer was sent (the request was still handled). */
  readonly abandoned: number;
  /** Still waiting for a slot or being served: `arrived - served - throttled - abandoned`. */
  readonly pending: number;
  /** Most requests holding a slot at once while the window was current. */
  readonly maxInFlight: number;
  /** Longest queue while the window was current. */
  readonly maxWaiting: number;
  /** Served requests, from arrival at the sandbox to the answer sent: queueing, latency and handling. */
  readonly latencyMs: LatencySummary;
  /** Served requests, from arrival to taking a slot. */
  readonly waitMs: LatencySummary;
}

/**
 * The counters of one measuring window, from a capacity mode being set (or a reset) to the next. A request
 * is counted in the window it arrived in, even when it is answered after that window ended, so a window's
 * figures are complete once its `pending` is 0.
 */
export class CapacityWindow {
  private arrived = 0;
  private served = 0;
  private throttled = 0;
  private abandoned = 0;
  private maxInFlight: number;
  private maxWaiting: number;
  private until: number | undefined;
  private readonly latency = new LatencyHistogram();
  private readonly wait = new LatencyHistogram();

  constructor(
    private readonly since: number,
    occupancy: { readonly inFlight: number; readonly waiting: number },
  ) {
    this.maxInFlight = occupancy.inFlight;
    this.maxWaiting = occupancy.waiting;
  }

  arrival(): void {
    this.arrived++;
  }

  throttle(): void {
    this.throttled++;
  }

  occupancy(inFlight: number, waiting: number): void {
    if (this.until !== undefined) {
      return;
    }
    this.maxInFlight = Math.max(this.maxInFlight, inFlight);
    this.maxWaiting = Math.max(this.maxWaiting, waiting);
  }

  finished(answered: boolean, latencyMs: number, waitMs: number): void {
    if (!answered) {
      this.abandoned++;
      return;
    }
    this.served++;
    this.latency.record(latencyMs);
    this.wait.record(waitMs);
  }

  end(at: number): void {
    this.until ??= at;
  }

  report(): CapacityWindowReport {
    return {
      since: new Date(this.since).toISOString(),
      until: this.until === undefined ? null : new Date(this.until).toISOString(),
      arrived: this.arrived,
      served: this.served,
      throttled: this.throttled,
      abandoned: this.abandoned,
      pending: this.arrived - this.served - this.throttled - this.abandoned,
      maxInFlight: this.maxInFlight,
      maxWaiting: this.maxWaiting,
      latencyMs: this.latency.summary(),
      waitMs: this.wait.summary(),
    };
  }
}
