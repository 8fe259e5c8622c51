import { ZonedCalendar, addDays, isWeekday } from '../../adapters/ehr/sandbox/seed-time';

describe('ZonedCalendar', () => {
  const boston = new ZonedCalendar('America/New_York');

  it('writes local clinic hours with the offset of the day, across daylight saving changes', () => {
    expect(boston.at({ year: 2026, month: 3, day: 6 }, 9, 0).iso).toBe('2026-03-06T09:00:00-05:00');
    expect(boston.at({ year: 2026, month: 3, day: 9 }, 9, 0).iso).toBe('2026-03-09T09:00:00-04:00');
    expect(boston.at({ year: 2026, month: 11, day: 2 }, 16, 30).iso).toBe('2026-11-02T16:30:00-05:00');
    const { epochMs, iso } = boston.at({ year: 2026, month: 7, day: 1 }, 9, 30);
    expect(new Date(epochMs).toISOString()).toBe('2026-07-01T13:30:00.000Z');
    expect(Date.parse(iso)).toBe(epochMs);
  });

  it('knows the local date of an instant', () => {
    expect(boston.dateOf(new Date('2026-03-03T03:00:00Z'))).toEqual({ year: 2026, month: 3, day: 2 });
    expect(boston.dateOf(new Date('2026-03-03T06:00:00Z'))).toEqual({ year: 2026, month: 3, day: 3 });
  });

  it('does calendar arithmetic on local dates', () => {
    expect(addDays({ year: 2026, month: 2, day: 27 }, 2)).toEqual({ year: 2026, month: 3, day: 1 });
    expect(isWeekday({ year: 2026, month: 3, day: 7 })).toBe(false);
    expect(isWeekday({ year: 2026, month: 3, day: 9 })).toBe(true);
  });
});
