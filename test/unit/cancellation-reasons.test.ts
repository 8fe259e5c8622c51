/**
 * The cancellation reasons a profile accepts are its table's call-center values; the EHR's own codes
 * there are taken as their values; anything else is refused with the list. A write queued before
 * that rule still never sends a made-up code.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptedCancellationReason } from '../../src/domain/cancellation-reason';
import { ContinuumError } from '../../src/domain/errors';
import { loadMappingProfile, type MappingProfile } from '../../src/mapping';

const DEFAULT_DIR = join(__dirname, '..', '..', 'mappings', 'default');
const SYSTEM = 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason';

let root: string;
let profile: MappingProfile;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'continuum-reasons-'));
  profile = await loadMappingProfile(DEFAULT_DIR, { defaultRegion: 'US' });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The default profile with its cancellation-reason table's `map:` replaced by `map` (YAML, from after the colon). */
async function profileWithReasons(name: string, map: string): Promise<MappingProfile> {
  const dir = join(root, name);
  await cp(DEFAULT_DIR, dir, { recursive: true });
  const path = join(dir, 'appointment.yaml');
  const yaml = await readFile(path, 'utf8');
  const table = /( {2}cancellationReason:\n {4}system: .*\n {4}map:)\n((?: {6}.*\n)+)/;
  if (!table.test(yaml)) throw new Error('mappings/default codes.cancellationReason changed');
  await writeFile(
    path,
    yaml.replace(table, (_all, head: string) => `${head}${map}`),
  );
  return loadMappingProfile(dir, { defaultRegion: 'US' });
}

function refusal(run: () => unknown): ContinuumError {
  try {
    run();
  } catch (error) {
    if (error instanceof ContinuumError) return error;
    throw error;
  }
  throw new Error('not refused');
}

it("lists the table's call-center values, sorted, each once, and no EHR code", () => {
  const reasons = profile.cancellationReasons;
  expect(reasons).toEqual([...new Set(reasons)].sort());
  expect(reasons).toEqual(expect.arrayContaining(['patient-request', 'weather', 'other', 'provider']));
  expect(reasons.filter((r) => r === 'patient-request')).toHaveLength(1);
  expect(reasons).not.toContain('pat');
  expect(reasons).not.toContain('oth-weath');
});

it("takes a value as itself and one of the EHR's codes as its value, in any case; nothing else", () => {
  expect(profile.cancellationReasonOf('weather')).toBe('weather');
  expect(profile.cancellationReasonOf('pat')).toBe('patient-request');
  expect(profile.cancellationReasonOf('oth-weath')).toBe('weather');
  expect(profile.cancellationReasonOf('because he said so')).toBeUndefined();
  // Any case, recorded in the table's spelling.
  expect(profile.cancellationReasonOf('Weather')).toBe('weather');
  expect(profile.cancellationReasonOf('PAT')).toBe('patient-request');
  expect(profile.cancellationReasonOf('OTH-WEATH')).toBe('weather');
  expect(profile.cancellationReasonOf('WEATHER ')).toBeUndefined();
  // Object keys the table never had.
  expect(profile.cancellationReasonOf('constructor')).toBeUndefined();
  expect(profile.cancellationReasonOf('__proto__')).toBeUndefined();
});

it('refuses an unknown reason with 422 VALIDATION listing the accepted ones, not echoing it', () => {
  expect(acceptedCancellationReason(profile, undefined)).toBeUndefined();
  expect(acceptedCancellationReason(profile, 'pat')).toBe('patient-request');
  const error = refusal(() => acceptedCancellationReason(profile, 'call from Jane Doe'));
  expect(error.code).toBe('VALIDATION');
  expect(error.status).toBe(422);
  expect(error.retryable).toBe(false);
  expect(error.detail).toBe(
    `reason: is not a cancellation reason of mapping profile default; accepted: ${profile.cancellationReasons.join(', ')}`,
  );
  expect(error.extra).toEqual({
    errors: [{ field: 'reason', message: 'is not one of the accepted reasons (acceptedReasons)' }],
    acceptedReasons: profile.cancellationReasons,
  });
  expect(JSON.stringify({ detail: error.detail, extra: error.extra })).not.toContain('Jane');
});

it('says to send none when the table codes no reason', async () => {
  const empty = await profileWithReasons('empty', ' {}\n');
  expect(empty.cancellationReasons).toEqual([]);
  const error = refusal(() => acceptedCancellationReason(empty, 'weather'));
  expect(error.status).toBe(422);
  expect(error.detail).toBe('reason: mapping profile empty codes no cancellation reason: send none');
  expect(error.extra).toMatchObject({ acceptedReasons: [] });
});

it('codes a known reason from the table, and an EHR code as itself with its value as text', () => {
  expect(profile.cancellationReason('patient-request')).toEqual({
    coding: [{ system: SYSTEM, code: 'pat' }],
    text: 'patient-request',
  });
  expect(profile.cancellationReason('pat-fb')).toEqual({
    coding: [{ system: SYSTEM, code: 'pat-fb' }],
    text: 'patient-feeling-better',
  });
});

it("sends words queued before the rule under the table's other code, else as text alone", async () => {
  expect(profile.cancellationReason('Storm: the clinic is closed')).toEqual({
    coding: [{ system: SYSTEM, code: 'other' }],
    text: 'Storm: the clinic is closed',
  });
  const noOther = await profileWithReasons(
    'no-other',
    '\n      pat: patient-request\n      oth-weath: weather\n',
  );
  expect(noOther.cancellationReasons).toEqual(['patient-request', 'weather']);
  expect(noOther.cancellationReason('Storm: the clinic is closed')).toEqual({
    text: 'Storm: the clinic is closed',
  });
  const cancelled = noOther.cancelAppointment(
    { resourceType: 'Appointment', status: 'booked', participant: [] },
    'Storm: the clinic is closed',
  );
  expect(cancelled.cancelationReason).toEqual({ text: 'Storm: the clinic is closed' });
});
