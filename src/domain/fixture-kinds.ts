/**
 * The kinds of fixture a mapping profile holds, one folder each under `fixtures/` (mappings/README:
 * Fixtures). Anything else there fails the profile's tests, and so its load: the API takes only these.
 */
export const FIXTURE_KINDS = [
  'read',
  'write',
  'create',
  'appointment-read',
  'appointment-book',
  'appointment-write',
  'slot-read',
  'call-write',
  'callback-write',
] as const;
export type FixtureKind = (typeof FIXTURE_KINDS)[number];
