/**
 * The writes every write benchmark sends: a full demographic correction (phones, email, address,
 * preferred language) of about 500 bytes of JSON, spread over pat-0001..pat-0200 in turn (or over
 * more patients, for the drain at capacity), so any 50 writes in flight touch 50 different patients. Write `i` has its own email address and
 * Idempotency-Key, so no write is a repeat of another and the worker never finds its change
 * already applied. The same changes, applied to the FHIR Patient the way the default mapping
 * profile applies them, are what the direct-to-sandbox baseline sends.
 */

export const BENCH_PATIENTS = 200;

/** `pat-0001`..`pat-0200` (or as many patients as given), in turn. */
export function patientFor(i: number, patients = BENCH_PATIENTS): string {
  return sandboxPatient((i % patients) + 1);
}

/** The sandbox's id of its n-th seeded patient (1-based): `pat-0042`. */
export function sandboxPatient(n: number): string {
  return `pat-${String(n).padStart(4, '0')}`;
}

const LANGUAGES = ['es', 'pt', 'vi', 'zh', 'ht', 'en'] as const;

export interface WriteChanges {
  readonly phones: readonly string[];
  readonly email: string;
  readonly address: {
    readonly line: readonly string[];
    readonly city: string;
    readonly state: string;
    readonly postalCode: string;
    readonly country: string;
  };
  readonly preferredLanguage: string;
}

function lastFour(i: number, base: number): string {
  return String(base + (i % 100)).padStart(4, '0');
}

/** The body of write `i` as an agent's desktop sends it (phones in the formats people type). */
export function writeChanges(i: number): WriteChanges {
  const n = String(i).padStart(7, '0');
  return {
    phones: [
      `+1 617 555 ${lastFour(i, 100)}`,
      `(857) 555-${lastFour(i + 37, 100)}`,
      `978.555.${lastFour(i + 71, 100)}`,
    ],
    email: `bench.writer.${n}@mail.example.org`,
    address: {
      line: [
        `${100 + (i % 900)} Commonwealth Avenue, Apartment ${1 + (i % 40)}B`,
        'Riverside Residences, Building C, Fourth Floor, Door on the left past the elevators',
        'In care of the Massachusetts Community Health Outreach Program, Attn: Patient Services',
      ],
      city: 'Boston',
      state: 'MA',
      postalCode: '02215',
      country: 'US',
    },
    preferredLanguage: LANGUAGES[i % LANGUAGES.length] ?? 'en',
  };
}

export function writeBody(i: number): string {
  return JSON.stringify(writeChanges(i));
}

/** The phones of write `i` in E.164, as the gateway stores them after normalising. */
function e164Phones(i: number): string[] {
  return [
    `+1617555${lastFour(i, 100)}`,
    `+1857555${lastFour(i + 37, 100)}`,
    `+1978555${lastFour(i + 71, 100)}`,
  ];
}

interface FhirEntry {
  readonly system?: string;
  readonly use?: string;
  readonly [key: string]: unknown;
}

export interface FhirPatient {
  readonly resourceType: 'Patient';
  readonly id: string;
  readonly meta?: { readonly versionId?: string };
  readonly telecom?: readonly FhirEntry[];
  readonly address?: readonly FhirEntry[];
  readonly communication?: readonly {
    readonly preferred?: boolean;
    readonly language?: { readonly coding?: readonly { system?: string; code?: string }[] };
  }[];
  readonly [key: string]: unknown;
}

/**
 * Write `i` applied to a FHIR Patient as mappings/default/patient.yaml applies it: phones and the
 * email replace the telecom entries of their system, the home address (else the first) is
 * replaced, and the new language becomes the preferred communication.
 */
export function applyToFhir(patient: FhirPatient, i: number): FhirPatient {
  const changes = writeChanges(i);
  const telecom = patient.telecom ?? [];
  const emailUse = telecom.find((t) => t.system === 'email')?.use;
  const addresses = [...(patient.address ?? [])];
  const home = addresses.findIndex((a) => a.use === 'home');
  const newAddress = { use: 'home', ...changes.address, line: [...changes.address.line] };
  if (home >= 0) addresses[home] = newAddress;
  else if (addresses.length > 0) addresses[0] = newAddress;
  else addresses.push(newAddress);
  const language = changes.preferredLanguage;
  return {
    ...patient,
    telecom: [
      ...telecom.filter((t) => t.system !== 'phone' && t.system !== 'email'),
      ...e164Phones(i).map((value) => ({ system: 'phone', value })),
      { system: 'email', value: changes.email, ...(emailUse !== undefined ? { use: emailUse } : {}) },
    ],
    address: addresses,
    communication: [
      ...(patient.communication ?? []).filter(
        (c) =>
          c.preferred !== true &&
          !(c.language?.coding ?? []).some((x) => x.system === 'urn:ietf:bcp:47' && x.code === language),
      ),
      { language: { coding: [{ system: 'urn:ietf:bcp:47', code: language }] }, preferred: true },
    ],
  };
}
