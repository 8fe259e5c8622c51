/** A calendar day with no time zone attached. */
export interface LocalDate {
  readonly year: number;
  /** 1 to 12. */
  readonly month: number;
  readonly day: number;
}

export function addDays(date: LocalDate, days: number): LocalDate {
  const shifted = new Date(Date.UTC(date.year, date.month - 1, date.day + days));
  return { year: shifted.getUTCFullYear(), month: shifted.getUTCMonth() + 1, day: shifted.getUTCDate() };
}

/** 0 = Sunday ... 6 = Saturday. */
export function weekdayOf(date: LocalDate): number {
  return new Date(Date.UTC(date.year, date.month - 1, date.day)).getUTCDay();
}

export function isWeekday(date: LocalDate): boolean {
  const weekday = weekdayOf(date);
  return weekday !== 0 && weekday !== 6;
}

/** `YYYY-MM-DD`, the FHIR `date` form. */
export function isoDate(date: LocalDate): string {
  return `${String(date.year).padStart(4, '0')}-${pad(date.month)}-${pad(date.day)}`;
}

/**
 * Wall-clock times in one IANA time zone, written as FHIR instants with the zone's offset of that day
 * (`2026-03-02T09:00:00-05:00`): clinic hours are local, and daylight saving moves their UTC time.
 */
export class ZonedCalendar {
  private readonly formatter: Intl.DateTimeFormat;

  constructor(readonly timeZone: string) {
    this.formatter = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }

  /** The local calendar day an instant falls on. */
  dateOf(instant: Date): LocalDate {
    const parts = this.wallClock(instant.getTime());
    return { year: parts.year, month: parts.month, day: parts.day };
  }

  /** The instant of a local wall-clock time, as epoch milliseconds and as an ISO string with offset. */
  at(date: LocalDate, hour: number, minute: number): { readonly epochMs: number; readonly iso: string } {
    const asIfUtc = Date.UTC(date.year, date.month - 1, date.day, hour, minute);
    let offset = this.offsetMinutes(asIfUtc);
    // Re-check at the real instant: the guess can sit on the other side of a daylight-saving change.
    offset = this.offsetMinutes(asIfUtc - offset * 60_000);
    const epochMs = asIfUtc - offset * 60_000;
    const sign = offset < 0 ? '-' : '+';
    const abs = Math.abs(offset);
    const iso = `${isoDate(date)}T${pad(hour)}:${pad(minute)}:00${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`;
    return { epochMs, iso };
  }

  private offsetMinutes(epochMs: number): number {
    const p = this.wallClock(epochMs);
    const wallAsUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
    return Math.round((wallAsUtc - Math.floor(epochMs / 1000) * 1000) / 60_000);
  }

  private wallClock(
    epochMs: number,
  ): Record<'year' | 'month' | 'day' | 'hour' | 'minute' | 'second', number> {
    const values = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
    for (const part of this.formatter.formatToParts(new Date(epochMs))) {
      if (part.type in values) {
        values[part.type as keyof typeof values] = Number(part.value);
      }
    }
    return values;
  }
}

function pad(value: number): string {
  return String(value).padStart(2, '0');
}
