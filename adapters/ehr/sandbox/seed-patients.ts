import type { Address, ContactPoint, Patient, Practitioner, Reference } from '@medplum/fhirtypes';
import { seq } from './seed-clinic';
import { EMAIL_DOMAINS, CITIES, NAME_ORIGINS, STATE, STREETS } from './seed-names';
import type { City, NameOrigin } from './seed-names';
import { SYSTEMS, coding } from './seed-codes';
import type { PhoneFormatDeck, PhoneNumbers, UsNumber } from './seed-phones';
import { formatPhone } from './seed-phones';
import type { SeededRandom } from './seed-random';
import type { LocalDate } from './seed-time';
import { addDays, isoDate } from './seed-time';

export type SeedPatient = Patient & { id: string };

export interface PatientSeedInput {
  readonly random: SeededRandom;
  readonly phones: PhoneNumbers;
  readonly formats: PhoneFormatDeck;
  readonly count: number;
  /** The day ages are counted to. */
  readonly birthDatesAsOf: LocalDate;
  /** Primary-care practitioners, for `generalPractitioner`: adults get `adult`, children `paediatric`. */
  readonly primaryCare: {
    readonly adult: readonly Reference<Practitioner>[];
    readonly paediatric: readonly Reference<Practitioner>[];
  };
}

/** Share of patients who live in a family household sharing one home phone line. */
const FAMILY_SHARE = 0.1;

interface Household {
  readonly size: number;
  readonly family: boolean;
}

interface HouseholdContext {
  readonly origin: NameOrigin;
  readonly family: string;
  readonly address: Address;
  readonly city: City;
  readonly home: UsNumber | undefined;
  readonly language: Patient['communication'];
}

/**
 * Demo patients: official names, birth dates, gender, an MRN, a home address and phones written in every
 * real-world format. About one in ten lives in a family household whose members share the home line (each
 * record may write it differently), which is what makes caller lookup by phone return several patients.
 */
export function buildPatients(input: PatientSeedInput): SeedPatient[] {
  const { random, count } = input;
  const width = Math.max(4, String(count).length);
  const mrns = new Set<string>();
  const patients: SeedPatient[] = [];
  for (const household of households(random, count)) {
    const context = householdContext(input, household);
    for (let member = 0; member < household.size; member++) {
      const adult = !household.family || member < (household.size > 2 ? 2 : 1);
      const id = `pat-${seq(patients.length + 1, width)}`;
      patients.push(buildPatient(input, context, { id, adult, mrn: uniqueMrn(random, mrns) }));
    }
  }
  return patients;
}

function households(random: SeededRandom, count: number): Household[] {
  const list: Household[] = [];
  let inFamilies = Math.round(count * FAMILY_SHARE);
  while (inFamilies >= 2) {
    const size = Math.min(inFamilies, random.int(2, 4));
    list.push({ size, family: true });
    inFamilies -= size;
  }
  const singles = count - list.reduce((sum, household) => sum + household.size, 0);
  for (let i = 0; i < singles; i++) {
    list.push({ size: 1, family: false });
  }
  return random.shuffle(list);
}

function householdContext(input: PatientSeedInput, household: Household): HouseholdContext {
  const { random, phones } = input;
  const origin = random.weighted(NAME_ORIGINS.map((o) => [o, o.weight] as const));
  const city = random.pick(CITIES);
  const line = [`${random.int(1, 480)} ${random.pick(STREETS)}`];
  if (random.chance(0.3)) {
    line.push(`Apt ${String(random.int(1, 12))}${random.pick(['', 'A', 'B', 'C'])}`);
  }
  const address: Address = {
    use: 'home',
    type: 'both',
    line,
    city: city.name,
    state: STATE,
    postalCode: city.postalCode,
    country: 'US',
  };
  const hasLandline = household.family || random.chance(0.55);
  const language =
    origin.language && random.chance(origin.language.share)
      ? [
          {
            language: {
              coding: [coding(SYSTEMS.language, origin.language.code, origin.language.display)],
              text: origin.language.display,
            },
            preferred: true,
          },
        ]
      : undefined;
  return {
    origin,
    family: random.pick(origin.family),
    address,
    city,
    home: hasLandline ? phones.next(city.areaCodes) : undefined,
    language,
  };
}

function buildPatient(
  input: PatientSeedInput,
  context: HouseholdContext,
  member: { id: string; adult: boolean; mrn: string },
): SeedPatient {
  const { random, birthDatesAsOf: asOf } = input;
  const gender = random.weighted([
    ['female', 49],
    ['male', 49],
    ['other', 2],
  ] as const);
  const names = gender === 'male' ? context.origin.male : gender === 'female' ? context.origin.female : [];
  const given = [random.pick(names.length > 0 ? names : [...context.origin.female, ...context.origin.male])];
  if (random.chance(0.25)) {
    given.push(random.pick(gender === 'male' ? context.origin.male : context.origin.female));
  }
  const age = member.adult ? adultAge(random) : random.int(0, 17);
  const birthDate = addDays({ year: asOf.year - age, month: asOf.month, day: asOf.day }, -random.int(1, 364));
  const family = context.family;
  const primaryCare = member.adult ? input.primaryCare.adult : input.primaryCare.paediatric;

  const patient: SeedPatient = {
    resourceType: 'Patient',
    id: member.id,
    active: true,
    identifier: [
      {
        use: 'usual',
        type: {
          coding: [coding(SYSTEMS.identifierType, 'MR', 'Medical record number')],
          text: 'MRN',
        },
        system: SYSTEMS.mrn,
        value: member.mrn,
      },
    ],
    name: [{ use: 'official', family, given }],
    telecom: telecom(input, context, member.adult, given[0] ?? '', family),
    gender,
    birthDate: isoDate(birthDate),
    address: [context.address],
  };
  if (context.language) {
    patient.communication = context.language;
  }
  if (primaryCare.length > 0 && random.chance(0.7)) {
    patient.generalPractitioner = [random.pick(primaryCare)];
  }
  return patient;
}

function telecom(
  input: PatientSeedInput,
  context: HouseholdContext,
  adult: boolean,
  given: string,
  family: string,
): ContactPoint[] {
  const { random, phones, formats } = input;
  const phone = (number: UsNumber, use: ContactPoint['use']): ContactPoint => ({
    system: 'phone',
    value: formatPhone(number, formats.next()),
    use,
  });
  const points: ContactPoint[] = [];
  if (context.home) {
    points.push(phone(context.home, 'home'));
  }
  if (adult && (!context.home || random.chance(0.35))) {
    points.push(phone(phones.next(random.chance(0.7) ? context.city.areaCodes : allAreaCodes()), 'mobile'));
  }
  if (adult && random.chance(0.12)) {
    points.push(phone(phones.next(allAreaCodes()), 'work'));
  }
  if (points.length === 0) {
    // A child in a household without a landline is reached on a guardian's mobile.
    points.push(phone(phones.next(context.city.areaCodes), 'mobile'));
  }
  if (adult && random.chance(0.6)) {
    points.push({ system: 'email', value: email(random, given, family), use: 'home' });
  }
  return points;
}

function adultAge(random: SeededRandom): number {
  const band = random.weighted([
    [[18, 34], 30],
    [[35, 54], 33],
    [[55, 74], 27],
    [[75, 95], 10],
  ] as const);
  return random.int(band[0], band[1]);
}

function uniqueMrn(random: SeededRandom, used: Set<string>): string {
  for (;;) {
    const mrn = `MRN${random.digits(7)}`;
    if (!used.has(mrn)) {
      used.add(mrn);
      return mrn;
    }
  }
}

function email(random: SeededRandom, given: string, family: string): string {
  const ascii = (text: string): string =>
    text
      .normalize('NFD')
      .replace(/[^A-Za-z]/g, '')
      .toLowerCase();
  return `${ascii(given)}.${ascii(family)}${String(random.int(1, 99))}@${random.pick(EMAIL_DOMAINS)}`;
}

function allAreaCodes(): string[] {
  return [...new Set(CITIES.flatMap((city) => city.areaCodes))];
}
