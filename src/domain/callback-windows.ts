/**
 * Callback windows: the slices of the contact center's hours in which it promises to call people
 * back, each with a capacity. Pure time arithmetic here; the counting lives behind CallbackBook.
 */

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface CallbackWindowRules {
  /** IANA time zone the hours are in (`America/New_York`). */
  readonly timeZone: string;
  /** Opening hours per weekday as `HH:MM-HH:MM` (end may be `24:00`); absent or null: closed. */
  readonly hours: Readonly<Partial<Record<Weekday, string | null>>>;
  readonly lengthMinutes: number;
  /** Callbacks promised per window at most. */
  readonly capacity: number;
  /** A window still open is offered only if at least this many minutes of it remain. */
  readonly minRemainingMinutes: number;
  /** How far ahead windows are looked for. */
  readonly searchDays: number;
}

export interface CallbackWindow {
  readonly start: string;
  readonly end: string;
}

/** Minutes from midnight of `HH:MM`. */
export function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return (h ?? 0) * 60 + (m ?? 0);
}

type Parts = { y: number; mo: number; d: number; h: number; mi: number };

/** Reads an instant's local wall-clock fields in one time zone; built once per search (costly to make). */
function wallClock(timeZone: string): (at: number) => Parts {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  });
  return (at) => {
    const parts = format.formatToParts(new Date(at));
    const get = (type: string): number => Number(parts.find((p) => p.type === type)?.value ?? 0);
    return { y: get('year'), mo: get('month'), d: get('day'), h: get('hour'), mi: get('minute') };
  };
}

/** The instant at which the local wall clock reads the given date and minute of day. */
function instantOf(
  local: (at: number) => Parts,
  y: number,
  mo: number,
  d: number,
  minuteOfDay: number,
): number {
  const wall = Date.UTC(y, mo - 1, d, 0, minuteOfDay);
  // Two passes settle the zone's offset, also across a daylight-saving change.
  let guess = wall;
  for (let i = 0; i < 2; i++) {
    const p = local(guess);
    const seen = Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi);
    guess += wall - seen;
  }
  return guess;
}

/** Every window still worth offering at `now`, earliest first, over `searchDays`. */
export function upcomingWindows(rules: CallbackWindowRules, now: Date): CallbackWindow[] {
  const windows: CallbackWindow[] = [];
  const local = wallClock(rules.timeZone);
  const today = local(now.getTime());
  const earliestEnd = now.getTime() + rules.minRemainingMinutes * 60_000;
  for (let offset = 0; offset <= rules.searchDays; offset++) {
    const date = new Date(Date.UTC(today.y, today.mo - 1, today.d + offset));
    const hours = rules.hours[WEEKDAYS[date.getUTCDay()] as Weekday];
    if (hours === undefined || hours === null) continue;
    const [open, close] = hours.split('-').map(minutesOf) as [number, number];
    for (let m = open; m + rules.lengthMinutes <= close; m += rules.lengthMinutes) {
      const y = date.getUTCFullYear();
      const mo = date.getUTCMonth() + 1;
      const d = date.getUTCDate();
      const start = instantOf(local, y, mo, d, m);
      const end = instantOf(local, y, mo, d, m + rules.lengthMinutes);
      if (end < earliestEnd) continue;
      windows.push({ start: new Date(start).toISOString(), end: new Date(end).toISOString() });
    }
  }
  return windows;
}

/**
 * How many callbacks each window has promised, shared by every process. `reserve` takes a place
 * in the first window with room, atomically, so concurrent requests never over-book one.
 */
export interface CallbackBook {
  /** The index in `windows` of the window a place was taken in; undefined when all are full. */
  reserve(tenant: string, windows: readonly CallbackWindow[], capacity: number): Promise<number | undefined>;
  /** Gives back a place taken for a request that turned out to be a repeat, or failed. */
  release(tenant: string, window: CallbackWindow): Promise<void>;
  /**
   * Takes a place for one holder (a closure's callback to one patient) at most once: while the
   * holder keeps it, asking again answers the window it holds, so a re-run takes no second place.
   * Undefined when every window is full.
   */
  reserveFor(
    tenant: string,
    holder: string,
    windows: readonly CallbackWindow[],
    capacity: number,
  ): Promise<CallbackWindow | undefined>;
  /** Gives back the place a holder took, if it holds one. */
  releaseFor(tenant: string, holder: string): Promise<void>;
  /** Places taken in each window (for operators and tests). */
  taken(tenant: string, windows: readonly CallbackWindow[]): Promise<readonly number[]>;
}
