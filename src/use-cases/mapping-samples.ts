/**
 * A sample of a connection's real Patients and Appointments read with a mapping profile: a read
 * field that comes out empty on every sampled record is most likely a profile that does not match
 * this EHR (an identifier system, an extension URL, an element it keeps elsewhere), which would
 * otherwise only show as silently empty fields in the agents' screens. Field names only, no values.
 */
import type { AppointmentModel } from '../domain/appointment';
import type { Appointment, Patient } from '../domain/fhir';
import { MappingFailedError } from '../domain/failure-policy';
import type { EmptyFieldFinding } from '../domain/mapping-catalog';
import type { MappingProfile } from '../domain/mapping-profile';
import type { PatientModel } from '../domain/patient';
import type { ConnectionContext } from './use-case-deps';

export interface SampleOutcome {
  readonly findings: readonly EmptyFieldFinding[];
  /** Sampled records a read mapping fails on, by resource reference and rule. */
  readonly problems: readonly string[];
  /** How many records were read with the profile, when the sample ran. */
  readonly sampled?: { readonly patients: number; readonly appointments: number };
  /** Why nothing was sampled (the EHR is down or did not answer in time), when it was not. */
  readonly skipped?: string;
}

interface FieldRule<M> {
  readonly field: string;
  readonly file: string;
  readonly rule: string;
  readonly value: (model: M) => unknown;
  /**
   * The records the field is expected on. A field that only some records may carry (a cancellation
   * reason on a booked appointment) is judged on those only: empty elsewhere is not a finding.
   */
  readonly appliesTo?: (model: M) => boolean;
}

const patientRule = (field: string, value: (model: PatientModel) => unknown): FieldRule<PatientModel> => ({
  field,
  file: 'patient.yaml',
  rule: `read.${field}`,
  value,
});
const appointmentRule = (
  field: string,
  value: (model: AppointmentModel) => unknown,
  appliesTo?: (model: AppointmentModel) => boolean,
): FieldRule<AppointmentModel> => ({
  field: `appointment.${field}`,
  file: 'appointment.yaml',
  rule: `read.${field}`,
  value,
  ...(appliesTo !== undefined ? { appliesTo } : {}),
});

/** Only a cancelled appointment has a cancellation reason to read (FHIR: cancelationReason). */
const CANCELLED_STATUSES = new Set(['cancelled', 'noshow']);

/**
 * The read fields worth a finding. Left out: ids and versions (always there), the appointment's
 * status and mode (their readers fall back to a default, so "empty" cannot be seen in the model),
 * and `name.text`, a rule a profile may leave out.
 */
const PATIENT_FIELDS: readonly FieldRule<PatientModel>[] = [
  patientRule('mrn', (m) => m.mrn),
  patientRule('name.given', (m) => m.name.given),
  patientRule('name.family', (m) => m.name.family),
  patientRule('birthDate', (m) => m.birthDate),
  patientRule('gender', (m) => m.gender),
  patientRule('phones', (m) => [...m.phones, ...(m.undialablePhones ?? [])]),
  patientRule('email', (m) => m.email),
  patientRule('address.line', (m) => m.address?.line),
  patientRule('address.city', (m) => m.address?.city),
  patientRule('address.state', (m) => m.address?.state),
  patientRule('address.postalCode', (m) => m.address?.postalCode),
  patientRule('address.country', (m) => m.address?.country),
  patientRule('preferredLanguage', (m) => m.preferredLanguage),
];

const APPOINTMENT_FIELDS: readonly FieldRule<AppointmentModel>[] = [
  appointmentRule('start', (m) => m.start),
  appointmentRule('end', (m) => m.end),
  appointmentRule('patient', (m) => m.patientId),
  appointmentRule('slot', (m) => m.slotId),
  appointmentRule('practitioner', (m) => m.practitioner),
  appointmentRule('location', (m) => m.location),
  appointmentRule('appointmentType', (m) => m.appointmentType),
  appointmentRule('serviceType', (m) => m.serviceType),
  appointmentRule('reason', (m) => m.reason),
  appointmentRule(
    'cancellationReason',
    (m) => m.cancellationReason,
    (m) => CANCELLED_STATUSES.has(m.status),
  ),
];

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  return Array.isArray(value) && value.every(isEmpty);
}

/** Reads up to `count` Patients and Appointments of the connection with `profile`. */
export async function sampleMappedFields(
  connection: ConnectionContext,
  profile: MappingProfile,
  count: number,
): Promise<SampleOutcome> {
  if (!(await connection.ehrAvailable())) {
    return { findings: [], problems: [], skipped: 'the EHR is unavailable' };
  }
  const options = { deadlineMs: connection.readDeadlineMs };
  const params = { _count: String(count) };
  let patients: readonly Patient[];
  let appointments: readonly Appointment[];
  try {
    [patients, appointments] = await Promise.all([
      connection.ehr.search<Patient>('Patient', params, options),
      connection.ehr.search<Appointment>('Appointment', params, options),
    ]);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      findings: [],
      problems: [],
      skipped: `the EHR did not answer the sample search (${typeof code === 'string' ? code : 'error'})`,
    };
  }
  const problems: string[] = [];
  const read = <R extends { id?: string | undefined }, M>(
    type: string,
    resources: readonly R[],
    reader: (resource: R) => M,
  ): M[] =>
    resources.flatMap((resource) => {
      try {
        return [reader(resource)];
      } catch (error) {
        // The mapping error's detail names profile, file and rule only; any other message may quote values.
        const where = error instanceof MappingFailedError ? error.detail : 'an unexpected error';
        problems.push(
          `connections.${connection.name}: ${type}/${resource.id ?? '?'} cannot be read: ${where ?? 'a mapping error'}`,
        );
        return [];
      }
    });
  const patientModels = read('Patient', patients, (resource) => profile.readPatient(resource));
  const appointmentModels = read('Appointment', appointments, (resource) =>
    profile.readAppointment(resource),
  );
  const finding = (rule: FieldRule<never>, sampled: number): EmptyFieldFinding => ({
    connection: connection.name,
    profile: profile.name,
    hash: profile.hash,
    field: rule.field,
    file: rule.file,
    rule: rule.rule,
    sampled,
  });
  // A rule is judged on the sampled records it applies to; with none of them sampled, it is not judged.
  const emptyEverywhere = <M>(rules: readonly FieldRule<M>[], models: readonly M[]): EmptyFieldFinding[] =>
    rules.flatMap((rule) => {
      const applicable = rule.appliesTo === undefined ? models : models.filter(rule.appliesTo);
      if (applicable.length === 0) return [];
      if (!applicable.every((model) => isEmpty(rule.value(model)))) return [];
      return [finding(rule, applicable.length)];
    });
  return {
    findings: [
      ...emptyEverywhere(PATIENT_FIELDS, patientModels),
      ...emptyEverywhere(APPOINTMENT_FIELDS, appointmentModels),
    ],
    problems,
    sampled: { patients: patientModels.length, appointments: appointmentModels.length },
  };
}
