import type { CodeableConcept, Practitioner, Reference, Resource } from '@medplum/fhirtypes';
import { buildCalendar } from './seed-calendar';
import { buildClinic } from './seed-clinic';
import { SERVICE_TYPES } from './seed-codes';
import { buildPatients } from './seed-patients';
import { PhoneFormatDeck, PhoneNumbers } from './seed-phones';
import { SeededRandom } from './seed-random';
import { ZonedCalendar, addDays, isoDate, type LocalDate } from './seed-time';
import type { SandboxRepository } from './sandbox-repository';

export interface SeedOptions {
  /** "Now" for the demo: slots start from it, past encounters count back from it. */
  readonly today?: Date;
  readonly seed?: number;
  readonly patientCount?: number;
}

export const DEFAULT_SEED = 1;
export const DEFAULT_PATIENT_COUNT = 240;
/** Beyond this the fictional phone ranges run out and start-up stops being quick. */
export const MAX_PATIENT_COUNT = 5000;
/** How far ahead free slots are published. */
export const SCHEDULE_DAYS = 28;
/** The clinics are in Massachusetts; clinic hours (09:00 to 17:00) are local time in this zone. */
export const CLINIC_TIME_ZONE = 'America/New_York';
/**
 * Birth dates count back from this fixed day, not from `today`: a birth date is what a caller gives to
 * prove who they are, so a demo patient's must be the same on every day the sandbox is started. A
 * `today` before it is used instead, so no one is born after the data's own today.
 */
export const BIRTH_DATES_AS_OF: LocalDate = { year: 2026, month: 11, day: 27 };

const earlier = (a: LocalDate, b: LocalDate): LocalDate => (isoDate(a) <= isoDate(b) ? a : b);

/**
 * The whole demo data set, in an order that satisfies referential integrity (organisation, locations,
 * practitioners, schedules, patients, slots, appointments, encounters). Pure: the same options give the
 * same resources, ids and phone texts, on any machine.
 */
export function buildSeedData(options: SeedOptions = {}): Resource[] {
  const today = options.today ?? new Date();
  const seed = options.seed ?? DEFAULT_SEED;
  const patientCount = options.patientCount ?? DEFAULT_PATIENT_COUNT;
  if (!Number.isInteger(seed)) {
    throw new RangeError(`Sandbox seed must be an integer, got ${String(options.seed)}`);
  }
  if (!Number.isInteger(patientCount) || patientCount < 1 || patientCount > MAX_PATIENT_COUNT) {
    throw new RangeError(
      `Sandbox patientCount must be an integer from 1 to ${String(MAX_PATIENT_COUNT)}, got ${String(options.patientCount)}`,
    );
  }
  if (Number.isNaN(today.getTime())) {
    throw new RangeError('Sandbox today must be a valid date');
  }
  const random = new SeededRandom(seed);
  const calendar = new ZonedCalendar(CLINIC_TIME_ZONE);
  const localToday = calendar.dateOf(today);
  const phones = new PhoneNumbers(random);
  const horizon = {
    start: calendar.at(localToday, 0, 0).iso,
    end: calendar.at(addDays(localToday, SCHEDULE_DAYS), 0, 0).iso,
  };
  const clinic = buildClinic(random, phones, horizon);
  const primaryCareOf = (service: CodeableConcept): Reference<Practitioner>[] =>
    clinic.clinicians.filter((c) => c.serviceType === service).map((c) => c.reference.practitioner);
  const patients = buildPatients({
    random,
    phones,
    formats: new PhoneFormatDeck(random),
    count: patientCount,
    birthDatesAsOf: earlier(localToday, BIRTH_DATES_AS_OF),
    primaryCare: {
      adult: primaryCareOf(SERVICE_TYPES.generalPractice),
      paediatric: primaryCareOf(SERVICE_TYPES.paediatrics),
    },
  });
  const { slots, appointments, encounters } = buildCalendar({
    random,
    clinic,
    patients,
    today,
    calendar,
    days: SCHEDULE_DAYS,
  });
  const resources: Resource[] = [
    clinic.organization,
    ...clinic.locations,
    ...clinic.clinicians.map((c) => c.practitioner),
    ...clinic.clinicians.map((c) => c.schedule),
    ...patients,
    ...slots,
    ...appointments,
    ...encounters,
  ];
  const lastUpdated = today.toISOString();
  return resources.map((resource) => ({ ...resource, meta: { versionId: '1', lastUpdated } }));
}

export interface SeedResult {
  readonly counts: Record<string, number>;
  readonly durationMs: number;
}

/** Builds the demo data and stores it, each resource validated like any client write. */
export async function seedSandbox(repo: SandboxRepository, options: SeedOptions = {}): Promise<SeedResult> {
  const started = performance.now();
  for (const resource of buildSeedData(options)) {
    await repo.seedResource(resource);
  }
  return { counts: repo.counts(), durationMs: Math.round(performance.now() - started) };
}
