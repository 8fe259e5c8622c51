/**
 * A visit's time as the EHR wrote it: FHIR instants carry the offset of the clinic's clock
 * (`2026-12-03T14:30:00-05:00`), so the wall-clock time a patient knows is in the string itself.
 * Continuum keeps no time-zone table per location; where the EHR writes UTC (`Z`), the time is
 * said to be UTC.
 */
const INSTANT = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;
const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

export interface LocalTime {
  /** The local date, `YYYY-MM-DD`. */
  readonly date: string;
  /** `HH:MM`, 24-hour. */
  readonly time: string;
  /** `+HH:MM` / `-HH:MM`, or `Z` for UTC. */
  readonly offset: string;
  /** "Thursday 3 December". */
  readonly day: string;
}

export function localTime(instant: string): LocalTime {
  const match = INSTANT.exec(instant);
  if (match === null) {
    // Not an instant with an offset: read it as the Date it denotes, in UTC.
    return localTime(new Date(instant).toISOString());
  }
  const [, y, mo, d, h, mi, offset] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const weekday = WEEKDAYS[new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d))).getUTCDay()] ?? '';
  const month = MONTHS[Number(mo) - 1] ?? '';
  return {
    date: `${y}-${mo}-${d}`,
    time: `${h}:${mi}`,
    offset: offset === '+00:00' ? 'Z' : offset,
    day: `${weekday} ${Number(d)} ${month}`,
  };
}

/** "Thursday 3 December 14:30", with " UTC" when the EHR wrote the time in UTC. */
export function spokenTime(instant: string): string {
  const local = localTime(instant);
  return `${local.day} ${local.time}${local.offset === 'Z' ? ' UTC' : ''}`;
}

/**
 * An instant's wall-clock time in an IANA time zone: for times Continuum chose itself (a callback
 * window, cut from the contact center's hours in that zone), which carry no clinic offset.
 */
export function zonedTime(instant: string, timeZone: string): LocalTime {
  const at = new Date(instant);
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(at);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  // `GMT-05:00`, or `GMT` at offset zero.
  const zone = get('timeZoneName').replace(/^GMT/, '');
  const offset = zone === '' ? '+00:00' : zone;
  return localTime(`${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}${offset}`);
}
