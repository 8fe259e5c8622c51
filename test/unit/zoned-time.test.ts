/** A callback window's time as the contact center's time zone reads it, daylight saving included. */
import { zonedTime } from '../../src/domain/local-time';

it('reads an instant in an IANA time zone, in winter and in summer', () => {
  expect(zonedTime('2026-12-07T19:00:00.000Z', 'America/New_York')).toEqual({
    date: '2026-12-07',
    time: '14:00',
    offset: '-05:00',
    day: 'Monday 7 December',
  });
  expect(zonedTime('2026-07-06T18:00:00.000Z', 'America/New_York')).toMatchObject({
    time: '14:00',
    offset: '-04:00',
    day: 'Monday 6 July',
  });
});

it('says UTC as Z, and crosses midnight into the next local day', () => {
  expect(zonedTime('2026-12-07T23:30:00.000Z', 'UTC')).toMatchObject({ time: '23:30', offset: 'Z' });
  expect(zonedTime('2026-12-08T03:00:00.000Z', 'America/Los_Angeles')).toMatchObject({
    date: '2026-12-07',
    time: '19:00',
  });
  expect(zonedTime('2026-12-07T20:00:00.000Z', 'Asia/Kolkata')).toMatchObject({
    date: '2026-12-08',
    time: '01:30',
    offset: '+05:30',
  });
});
