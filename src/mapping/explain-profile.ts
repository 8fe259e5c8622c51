/**
 * Explain: every model field of a Patient, Appointment or Slot with the rule that produced it, its
 * value, and for an empty one the reason in terms of the record (see empty-field-reason.ts). Values
 * come from the profile's own readers, so they are exactly what the API serves; the rules are
 * evaluated again here, one by one, to see what each gave and why.
 */
import type { Appointment, Patient, Resource, Schedule, Slot } from '../domain/fhir';
import type { AppointmentModel } from '../domain/appointment';
import type { MappingProfile } from '../domain/mapping-profile';
import type { PatientModel } from '../domain/patient';
import type { SlotModel } from '../domain/slot';
import type { ExplainedField, WorkbenchResourceType } from '../domain/mapping-workbench';
import { createPhoneNormalizer } from '../phone';
import { emptyFieldReason, walkedPaths } from './empty-field-reason';
import { compileFhirPath, firstLine } from './fhirpath-expression';
import { walkFhirPath } from './fhirpath-walk';
import { phoneFunctions } from './load-mapping-profile';
import type { ProfileFiles } from './profile-files';
import { ruleSource } from './rule-sources';

/** What a rule must give for its field to have a value. */
type Yield = 'text' | 'reference' | 'element';

interface Row {
  readonly field: string;
  readonly file: string;
  readonly rule: string;
  readonly base: string | undefined;
  /** What the rule runs on; undefined: there is nothing to run it on, `missing` says why. */
  readonly focus: unknown;
  readonly missing?: string;
  /** What the focus is called in a reason. */
  readonly subject?: string;
  readonly yields: Yield;
  readonly value: unknown;
}

export function explainResource(
  profile: MappingProfile,
  files: ProfileFiles,
  resourceType: WorkbenchResourceType,
  resource: Resource,
  schedule?: Schedule,
): ExplainedField[] {
  const constants = { mrnSystems: profile.mrnSystems };
  const functions = phoneFunctions(createPhoneNormalizer(profile.phoneRegion));
  const run = (source: string, base: string | undefined, focus: unknown): unknown[] =>
    compileFhirPath(source, { constants, functions, ...(base === undefined ? {} : { base }) }).evaluate(
      focus,
    );

  const model =
    resourceType === 'Patient'
      ? readModel(() => profile.readPatient(resource as Patient))
      : resourceType === 'Appointment'
        ? readModel(() => profile.readAppointment(resource as Appointment))
        : readModel(() => profile.readSlot(resource as Slot, schedule));
  const rows =
    resourceType === 'Patient'
      ? patientRows(model.model as PatientModel | undefined, files, resource as Patient, run)
      : resourceType === 'Appointment'
        ? appointmentRows(model.model as AppointmentModel | undefined, resource as Appointment)
        : slotRows(model.model as SlotModel | undefined, resource as Slot, schedule);

  return rows.map((row) => {
    const expression = ruleSource(files, row.file, row.rule) ?? '';
    const base = {
      field: row.field,
      file: row.file,
      rule: row.rule,
      language: 'fhirpath' as const,
      expression,
    };
    if (row.focus === undefined) {
      return { ...base, value: row.value, empty: true, reason: row.missing ?? 'nothing to read it from' };
    }
    let raw: unknown[];
    try {
      raw = run(expression, row.base, row.focus);
    } catch (error) {
      return {
        ...base,
        value: row.value,
        empty: true,
        reason: `the rule fails on this record: ${firstLine(error)}`,
      };
    }
    // The profile's reader failed on another field: what this rule gives stands in for the model.
    const value = model.failed ? fromRaw(row.yields, raw) : row.value;
    if (!isEmpty(value)) return { ...base, value, empty: false };
    const walk = walkFhirPath(expression, constants);
    const reason =
      specialReason(row, profile, raw) ??
      emptyFieldReason(
        walk,
        row.focus,
        raw.filter((item) => !yields(row.yields, item)),
        row.subject,
      );
    return { ...base, value, empty: true, reason, walked: walkedPaths(walk, row.focus) };
  });
}

/** A reader of the profile, or the note that it failed on this record (then every rule runs alone). */
interface ModelRead<T> {
  readonly model: T | undefined;
  readonly failed: boolean;
}

function readModel<T>(read: () => T): ModelRead<T> {
  try {
    return { model: read(), failed: false };
  } catch {
    return { model: undefined, failed: true };
  }
}

function fromRaw(kind: Yield, raw: readonly unknown[]): unknown {
  const usable = raw.filter((item) => yields(kind, item));
  if (kind === 'reference') {
    const reference = (usable[0] as { reference?: string } | undefined)?.reference;
    return reference?.split('/').pop();
  }
  return usable.length > 1 ? usable : usable[0];
}

type Run = (source: string, base: string | undefined, focus: unknown) => unknown[];

function patientRows(
  model: PatientModel | undefined,
  files: ProfileFiles,
  resource: Patient,
  run: Run,
): Row[] {
  const file = 'patient.yaml';
  const top = (field: string, value: unknown, yields: Yield = 'text'): Row => ({
    field,
    file,
    rule: `read.${field}`,
    base: undefined,
    focus: resource,
    yields,
    value,
  });
  const picked = (part: 'name' | 'address'): unknown => {
    const source = ruleSource(files, file, `read.${part}.from`);
    if (source === undefined) return undefined;
    try {
      return run(source, undefined, resource).find(isObject);
    } catch {
      return undefined;
    }
  };
  const name = picked('name');
  const address = picked('address');
  const within = (part: 'name' | 'address', element: unknown, key: string, value: unknown): Row => ({
    field: `${part}.${key}`,
    file,
    rule: `read.${part}.${key}`,
    base: `Patient.${part}`,
    focus: element,
    missing: `read.${part}.from picks no ${part}, so there is nothing to read ${key} from`,
    subject: `the ${part} read.${part}.from picks`,
    yields: 'text',
    value,
  });
  return [
    top('id', model?.id),
    top('version', model?.version),
    top('mrn', model?.mrn),
    { ...top('name', name, 'element'), rule: 'read.name.from' },
    within('name', name, 'given', model?.name.given),
    within('name', name, 'family', model?.name.family),
    ...(ruleSource(files, file, 'read.name.text') === undefined
      ? []
      : [within('name', name, 'text', model?.name.text)]),
    top('birthDate', model?.birthDate),
    top('gender', model?.gender),
    top('phones', model?.phones),
    top('email', model?.email),
    { ...top('address', address, 'element'), rule: 'read.address.from' },
    ...(['line', 'city', 'state', 'postalCode', 'country'] as const).map((key) =>
      within('address', address, key, model?.address?.[key]),
    ),
    top('preferredLanguage', model?.preferredLanguage),
  ];
}

function appointmentRows(model: AppointmentModel | undefined, resource: Appointment): Row[] {
  const row = (rule: string, field: string, value: unknown, yields: Yield = 'text'): Row => ({
    field,
    file: 'appointment.yaml',
    rule: `read.${rule}`,
    base: 'Appointment',
    focus: resource,
    yields,
    value,
  });
  return [
    row('id', 'id', model?.id),
    row('version', 'version', model?.version),
    row('status', 'status', model?.status === 'unknown' ? undefined : model?.status),
    row('start', 'start', model?.start),
    row('end', 'end', model?.end),
    row('patient', 'patientId', model?.patientId, 'reference'),
    row('slot', 'slotId', model?.slotId, 'reference'),
    row('practitioner', 'practitioner', model?.practitioner, 'reference'),
    row('location', 'location', model?.location, 'reference'),
    row('mode', 'mode', model?.mode),
    row('appointmentType', 'appointmentType', model?.appointmentType),
    row('serviceType', 'serviceType', model?.serviceType),
    row('reason', 'reason', model?.reason),
    row('cancellationReason', 'cancellationReason', model?.cancellationReason),
  ];
}

function slotRows(model: SlotModel | undefined, slot: Slot, schedule: Schedule | undefined): Row[] {
  const fromSlot = (rule: string, field: string, value: unknown, yields: Yield = 'text'): Row => ({
    field,
    file: 'slot.yaml',
    rule: `read.${rule}`,
    base: 'Slot',
    focus: slot,
    yields,
    value,
  });
  const fromSchedule = (rule: string, field: string, value: unknown, yields: Yield = 'text'): Row => ({
    field,
    file: 'slot.yaml',
    rule: `schedule.${rule}`,
    base: 'Schedule',
    focus: schedule,
    missing: 'no Schedule was read with this slot (read.schedule gives its reference)',
    yields,
    value,
  });
  return [
    fromSlot('id', 'id', model?.id),
    fromSlot('version', 'version', model?.version),
    fromSlot('status', 'status', model?.status === 'unknown' ? undefined : model?.status),
    fromSlot('start', 'start', model?.start),
    fromSlot('end', 'end', model?.end),
    fromSlot('schedule', 'scheduleId', model?.scheduleId, 'reference'),
    fromSlot('serviceType', 'serviceType', model?.serviceType),
    fromSchedule('serviceType', 'schedule.serviceType', model?.serviceType),
    fromSchedule('practitioner', 'practitioner', model?.practitioner, 'reference'),
    fromSchedule('location', 'location', model?.location, 'reference'),
    // Without a mode on the schedule every mode is offered: the model is never empty, the rule may be.
    fromSchedule('modes', 'modes', model?.modes),
  ];
}

/** Reasons the walk of the rule cannot see: numbers that are there but not dialable. */
function specialReason(row: Row, profile: MappingProfile, raw: readonly unknown[]): string | undefined {
  if (row.rule !== 'read.phones') return undefined;
  const written = raw.filter((item): item is string => typeof item === 'string' && item.trim() !== '');
  if (written.length === 0) return undefined;
  return `the record's numbers are not valid phone numbers in region ${profile.phoneRegion}: ${written.join(', ')}`;
}

function yields(kind: Yield, item: unknown): boolean {
  if (kind === 'text')
    return typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean';
  if (kind === 'element') return isObject(item);
  const reference = isObject(item) ? item.reference : undefined;
  return typeof reference === 'string' && (reference.split('/').pop() ?? '') !== '';
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return false;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
