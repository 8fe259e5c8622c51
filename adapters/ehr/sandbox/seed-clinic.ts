import type {
  Address,
  CodeableConcept,
  Location,
  Organization,
  Practitioner,
  Reference,
  Schedule,
} from '@medplum/fhirtypes';
import { SERVICE_TYPES, SYSTEMS, concept } from './seed-codes';
import { NAME_ORIGINS, STATE, STREETS } from './seed-names';
import type { PhoneNumbers } from './seed-phones';
import { formatPhone } from './seed-phones';
import type { SeededRandom } from './seed-random';

/** One practitioner's bookable calendar: who, where, what for. Slots and appointments are built from it. */
export interface Clinician {
  readonly practitioner: Practitioner & { id: string };
  readonly location: Location & { id: string };
  readonly schedule: Schedule & { id: string };
  readonly serviceType: CodeableConcept;
  readonly reference: {
    practitioner: Reference<Practitioner>;
    location: Reference<Location>;
    schedule: Reference<Schedule>;
  };
}

export interface Clinic {
  readonly organization: Organization & { id: string };
  readonly locations: readonly (Location & { id: string })[];
  readonly clinicians: readonly Clinician[];
}

const SITES = [
  { label: 'Downtown', city: 'Boston', postalCode: '02118' },
  { label: 'Dorchester', city: 'Boston', postalCode: '02124' },
  { label: 'Cambridge', city: 'Cambridge', postalCode: '02139' },
  { label: 'Quincy', city: 'Quincy', postalCode: '02169' },
] as const;

/** Twelve clinicians: mostly primary care, as in a community health centre, plus a few specialties. */
const ROSTER: readonly { serviceTypes: readonly CodeableConcept[]; degree: 'MD' | 'NP' }[] = [
  ...Array.from({ length: 6 }, () => ({
    serviceTypes: [SERVICE_TYPES.generalPractice],
    degree: 'MD' as const,
  })),
  { serviceTypes: [SERVICE_TYPES.paediatrics], degree: 'MD' },
  { serviceTypes: [SERVICE_TYPES.paediatrics], degree: 'MD' },
  { serviceTypes: [SERVICE_TYPES.cardiology], degree: 'MD' },
  { serviceTypes: [SERVICE_TYPES.dermatology], degree: 'MD' },
  { serviceTypes: [SERVICE_TYPES.obstetricsGynaecology], degree: 'MD' },
  { serviceTypes: [SERVICE_TYPES.generalPractice, SERVICE_TYPES.immunization], degree: 'NP' },
];

const ORGANIZATION_NAME = 'Continuum Community Health';

export function buildClinic(
  random: SeededRandom,
  phones: PhoneNumbers,
  horizon: { start: string; end: string },
): Clinic {
  const organization: Organization & { id: string } = {
    resourceType: 'Organization',
    id: 'org-0001',
    active: true,
    identifier: [{ system: SYSTEMS.npi, value: npi(random) }],
    type: [concept(SYSTEMS.organizationType, 'prov', 'Healthcare Provider')],
    name: ORGANIZATION_NAME,
    telecom: [{ system: 'phone', value: formatPhone(phones.next(['617']), 'dashed'), use: 'work' }],
    address: [address(random, 'Boston', '02118')],
  };
  const orgRef: Reference<Organization> = { reference: 'Organization/org-0001', display: ORGANIZATION_NAME };

  const locations = SITES.map((site, index): Location & { id: string } => ({
    resourceType: 'Location',
    id: `loc-${seq(index + 1, 4)}`,
    status: 'active',
    mode: 'instance',
    name: `${ORGANIZATION_NAME} - ${site.label}`,
    type: [concept(SYSTEMS.roleCode, 'PC', 'Primary care clinic')],
    physicalType: concept(SYSTEMS.physicalType, 'bu', 'Building'),
    telecom: [{ system: 'phone', value: formatPhone(phones.next(['617']), 'dashed'), use: 'work' }],
    address: address(random, site.city, site.postalCode),
    managingOrganization: orgRef,
    hoursOfOperation: [
      { daysOfWeek: ['mon', 'tue', 'wed', 'thu', 'fri'], openingTime: '09:00:00', closingTime: '17:00:00' },
    ],
  }));

  const clinicians = ROSTER.map((role, index): Clinician => {
    const id = seq(index + 1, 4);
    const location = locations[index % locations.length] as Location & { id: string };
    const origin = random.weighted(NAME_ORIGINS.map((o) => [o, o.weight] as const));
    const gender = random.chance(0.5) ? 'female' : 'male';
    const given = random.pick(gender === 'female' ? origin.female : origin.male);
    const family = random.pick(origin.family);
    const display = `${role.degree === 'MD' ? 'Dr. ' : ''}${given} ${family}${role.degree === 'NP' ? ', NP' : ''}`;
    const practitioner: Practitioner & { id: string } = {
      resourceType: 'Practitioner',
      id: `pr-${id}`,
      active: true,
      identifier: [{ system: SYSTEMS.npi, value: npi(random) }],
      name: [
        {
          use: 'official',
          family,
          given: [given],
          ...(role.degree === 'MD' ? { prefix: ['Dr.'] } : {}),
          suffix: [role.degree],
        },
      ],
      gender,
      qualification: [
        {
          code: concept(
            SYSTEMS.degree,
            role.degree,
            role.degree === 'MD' ? 'Doctor of Medicine' : 'Nurse Practitioner',
          ),
        },
      ],
    };
    const reference = {
      practitioner: { reference: `Practitioner/pr-${id}`, display },
      location: { reference: `Location/${location.id}`, display: location.name },
      schedule: { reference: `Schedule/sch-${id}` },
    };
    const schedule: Schedule & { id: string } = {
      resourceType: 'Schedule',
      id: `sch-${id}`,
      active: true,
      serviceType: [...role.serviceTypes],
      actor: [reference.practitioner, reference.location],
      planningHorizon: horizon,
      comment: `${display} at ${location.name ?? ''}`,
    };
    return {
      practitioner,
      location,
      schedule,
      serviceType: role.serviceTypes[0] ?? SERVICE_TYPES.generalPractice,
      reference,
    };
  });

  return { organization, locations, clinicians };
}

function address(random: SeededRandom, city: string, postalCode: string): Address {
  return {
    use: 'work',
    type: 'physical',
    line: [`${random.int(1, 999)} ${random.pick(STREETS)}`],
    city,
    state: STATE,
    postalCode,
    country: 'US',
  };
}

/**
 * A National Provider Identifier with a valid check digit (Luhn over the `80840` prefix plus nine digits),
 * so validators that check NPIs accept them. The numbers are random, not real providers'.
 */
function npi(random: SeededRandom): string {
  const base = `1${random.digits(8)}`;
  const payload = `80840${base}`;
  let sum = 0;
  for (let i = 0; i < payload.length; i++) {
    let digit = Number(payload[payload.length - 1 - i]);
    if (i % 2 === 0) {
      digit *= 2;
      if (digit > 9) {
        digit -= 9;
      }
    }
    sum += digit;
  }
  return `${base}${String((10 - (sum % 10)) % 10)}`;
}

export function seq(value: number, width: number): string {
  return String(value).padStart(width, '0');
}
