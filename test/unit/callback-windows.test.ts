import { upcomingWindows, type CallbackWindowRules } from '../../src/domain/callback-windows';

const WEEKDAYS_8_TO_18 = {
  mon: '08:00-18:00',
  tue: '08:00-18:00',
  wed: '08:00-18:00',
  thu: '08:00-18:00',
  fri: '08:00-18:00',
};
const rules = (over: Partial<CallbackWindowRules> = {}): CallbackWindowRules => ({
  timeZone: 'America/New_York',
  hours: WEEKDAYS_8_TO_18,
  lengthMinutes: 120,
  capacity: 20,
  minRemainingMinutes: 30,
  searchDays: 14,
  ...over,
});

describe('upcomingWindows', () => {
  it('slices the opening hours in the centre’s time zone, skipping closed days', () => {
    // Friday 2026-12-04, 06:00 in New York (UTC-5).
    const windows = upcomingWindows(rules({ searchDays: 3 }), new Date('2026-12-04T11:00:00Z'));
    expect(windows.slice(0, 6)).toEqual([
      { start: '2026-12-04T13:00:00.000Z', end: '2026-12-04T15:00:00.000Z' },
      { start: '2026-12-04T15:00:00.000Z', end: '2026-12-04T17:00:00.000Z' },
      { start: '2026-12-04T17:00:00.000Z', end: '2026-12-04T19:00:00.000Z' },
      { start: '2026-12-04T19:00:00.000Z', end: '2026-12-04T21:00:00.000Z' },
      { start: '2026-12-04T21:00:00.000Z', end: '2026-12-04T23:00:00.000Z' },
      // Saturday and Sunday closed: Monday 08:00.
      { start: '2026-12-07T13:00:00.000Z', end: '2026-12-07T15:00:00.000Z' },
    ]);
  });

  it('offers a window under way only while enough of it remains', () => {
    const at = (iso: string) => upcomingWindows(rules(), new Date(iso))[0]?.start;
    // 09:20 local: 40 minutes of the 08:00 window left.
    expect(at('2026-12-04T14:20:00Z')).toBe('2026-12-04T13:00:00.000Z');
    // 09:40 local: 20 minutes left, under the 30 asked for.
    expect(at('2026-12-04T14:40:00Z')).toBe('2026-12-04T15:00:00.000Z');
  });

  it('keeps local hours across a daylight-saving change', () => {
    // Friday 2026-03-06 is UTC-5; Monday 2026-03-09 is UTC-4 (the change is on Sunday the 8th).
    const windows = upcomingWindows(rules({ searchDays: 4 }), new Date('2026-03-06T23:30:00Z'));
    expect(windows[0]).toEqual({ start: '2026-03-09T12:00:00.000Z', end: '2026-03-09T14:00:00.000Z' });
  });

  it('runs to midnight with a 24:00 close and cuts a last window that would not fit', () => {
    const windows = upcomingWindows(
      rules({ timeZone: 'UTC', hours: { sat: '17:00-24:00' }, lengthMinutes: 180, searchDays: 6 }),
      new Date('2026-12-04T00:00:00Z'),
    );
    expect(windows).toEqual([
      { start: '2026-12-05T17:00:00.000Z', end: '2026-12-05T20:00:00.000Z' },
      { start: '2026-12-05T20:00:00.000Z', end: '2026-12-05T23:00:00.000Z' },
    ]);
  });
});
