import { basename, join } from 'node:path';
import * as r4 from 'fhirpath/fhir-context/r4';
import type { UserInvocationTable } from 'fhirpath';
import { isContinuumError } from '../domain/errors';
import type { AppointmentModel } from '../domain/appointment';
import type { Appointment, CodeableConcept, Patient } from '../domain/fhir';
import { createPhoneNormalizer, type PhoneNormalizer } from '../phone';
import type { CountryCode } from '../phone';
import { compileFhirPath, firstLine } from './fhirpath-expression';
import { lintFhirPath, type FhirPathLintProblem } from './fhirpath-lint';
import type { FhirPathExpression } from './fhirpath-expression';
import {
  compileTemplate,
  RUNNING_TEMPLATE_TIME_LIMIT_MS,
  type CompiledTemplate,
  type TemplateLimits,
} from './jsonata-template';
import type { MappingProfile } from '../domain/mapping-profile';
import { MappingEvaluationError } from './mapping-evaluation-error';
import { MappingProfileError } from './mapping-profile-error';
import type { MappingProblem } from './mapping-profile-error';
import { parseProfileFile } from './parse-profile-file';
import { hashProfileFiles, readProfileFiles } from './profile-files';
import type { ProfileFiles } from './profile-files';
import { patientFileSchema, profileFileSchema } from './profile-schema';
import type { PatientReadFile, PatientWriteField, ProfileFile, WriteRuleFile } from './profile-schema';
import { readPatientWith, readPhonesWith } from './patient-reader';
import {
  appointmentFileSchema,
  lookUpCode,
  readAppointmentWith,
  type AppointmentFile,
  type AppointmentReadField,
  type AppointmentReadSpec,
} from './appointment-reader';
import { SAMPLE_APPOINTMENT, SAMPLE_SCHEDULE, SAMPLE_SLOT } from './sample-appointment';
import { callbackTemplateInput, callFileSchema, callTemplateInput, type CallWriteSpec } from './call-writer';
import {
  readSlotWith,
  slotFileSchema,
  type ScheduleReadField,
  type SlotFile,
  type SlotReadField,
  type SlotReadSpec,
} from './slot-reader';
import type { PatientReadSpec } from './patient-reader';
import { applyPatientChangesWith, touchedElementsWith, WRITE_FIELDS } from './patient-writer';
import type { PatientWriteSpec, WriteRule } from './patient-writer';
import { EMPTY_PATIENT, SAMPLE_CHANGE_VALUES, SAMPLE_PATIENT } from './sample-patient';

export const PROFILE_FILE = 'profile.yaml';
export const PATIENT_FILE = 'patient.yaml';
export const APPOINTMENT_FILE = 'appointment.yaml';
export const SLOT_FILE = 'slot.yaml';
export const CALL_FILE = 'call.yaml';

export interface LoadMappingProfileOptions {
  /**
   * Region for numbers written without a country code (the gateway's `phone.defaultRegion`). Wins over
   * the profile's own `phone.defaultRegion` unless the profile sets `pinRegion: true`.
   */
  readonly defaultRegion?: CountryCode;
  /**
   * How long one template evaluation may run. A profile that runs writes gets the generous default:
   * a machine starved during a surge must not fail a start, a reload or a patient's write over a
   * template that takes milliseconds. The workbench, where someone types templates that may not
   * end, asks for a short one so that the gateway keeps answering (WORKBENCH_TEMPLATE_TIME_LIMIT_MS).
   */
  readonly templateTimeLimitMs?: number;
}

/** Loads, validates and compiles a profile folder; throws MappingProfileError listing every problem. */
/** The variables templates get from the engine, besides the profile constants. */
const TEMPLATE_VARIABLES = ['value', 'existing', 'index'];

export async function loadMappingProfile(
  dir: string,
  options: LoadMappingProfileOptions = {},
): Promise<MappingProfile> {
  let files: ProfileFiles;
  try {
    files = await readProfileFiles(dir);
  } catch (error) {
    throw new MappingProfileError([
      { file: dir, field: '', message: `cannot read the profile folder: ${firstLine(error)}` },
    ]);
  }
  return compileMappingProfile(dir, files, options);
}

/**
 * Validates and compiles a profile from its files, wherever they came from: a folder, the
 * content-addressed store, or a folder with a workbench's unsaved edits. `dir` names the profile
 * (its last segment) and prefixes the file names in errors.
 */
export async function compileMappingProfile(
  dir: string,
  files: ProfileFiles,
  options: LoadMappingProfileOptions = {},
): Promise<MappingProfile> {
  const profileLabel = join(dir, PROFILE_FILE);
  const patientLabel = join(dir, PATIENT_FILE);
  const profileFile = parseProfileFile(profileLabel, files.get(PROFILE_FILE), profileFileSchema);
  const patientFile = parseProfileFile(patientLabel, files.get(PATIENT_FILE), patientFileSchema);
  const appointmentLabel = join(dir, APPOINTMENT_FILE);
  const appointmentFile = parseProfileFile(
    appointmentLabel,
    files.get(APPOINTMENT_FILE),
    appointmentFileSchema,
  );
  const slotLabel = join(dir, SLOT_FILE);
  const slotFile = parseProfileFile(slotLabel, files.get(SLOT_FILE), slotFileSchema);
  const callLabel = join(dir, CALL_FILE);
  const callFile = parseProfileFile(callLabel, files.get(CALL_FILE), callFileSchema);
  if (!profileFile.ok || !patientFile.ok || !appointmentFile.ok || !slotFile.ok || !callFile.ok) {
    throw new MappingProfileError([
      ...(callFile.ok ? [] : callFile.problems),
      ...(profileFile.ok ? [] : profileFile.problems),
      ...(patientFile.ok ? [] : patientFile.problems),
      ...(appointmentFile.ok ? [] : appointmentFile.problems),
      ...(slotFile.ok ? [] : slotFile.problems),
    ]);
  }

  const problems: MappingProblem[] = [];
  const phoneRegion = resolveRegion(profileFile.value, options, profileLabel, problems);
  const constants = { mrnSystems: profileFile.value.identifiers.mrn.systems };
  const toE164 = createPhoneNormalizer(phoneRegion);
  const templateLimits = { timeLimitMs: options.templateTimeLimitMs ?? RUNNING_TEMPLATE_TIME_LIMIT_MS };
  const compilerFor = (label: string, resourceType: string): ExpressionCompiler =>
    new ExpressionCompiler(label, resourceType, constants, phoneFunctions(toE164), templateLimits, problems);
  const compiler = compilerFor(patientLabel, 'Patient');
  const read = compileRead(patientFile.value.read, compiler);
  const write = compileWrite(patientFile.value.write, compiler);
  const create = compiler.template('create.template', patientFile.value.create.template);
  const appointment = compileAppointmentRead(
    appointmentFile.value,
    compilerFor(appointmentLabel, 'Appointment'),
  );
  const appointmentCompiler = compilerFor(appointmentLabel, 'Appointment');
  const bookTemplate = appointmentCompiler.template('book.template', appointmentFile.value.book.template);
  const convertTemplate = appointmentCompiler.template(
    'convert.template',
    appointmentFile.value.convert.template,
  );
  const holdTemplate = appointmentCompiler.template('hold.template', appointmentFile.value.hold.template);
  const callCompiler = compilerFor(callLabel, 'Communication');
  const callTemplates = {
    encounter: callCompiler.template('encounter.template', callFile.value.encounter.template),
    communication: callCompiler.template('communication.template', callFile.value.communication.template),
    callback: callCompiler.template('callback.template', callFile.value.callback.template),
  };
  const slot = compileSlotRead(slotFile.value, compilerFor(slotLabel, 'Slot'));
  if (
    problems.length > 0 ||
    read === undefined ||
    write === undefined ||
    create === undefined ||
    appointment === undefined ||
    slot === undefined ||
    bookTemplate === undefined ||
    convertTemplate === undefined ||
    holdTemplate === undefined ||
    callTemplates.encounter === undefined ||
    callTemplates.communication === undefined ||
    callTemplates.callback === undefined
  ) {
    throw new MappingProfileError(problems);
  }

  const name = basename(dir);
  // Rules by the names errors give them (`write.phones.template`), so a failure can quote its source.
  const rules = {
    read,
    write,
    create,
    appointment,
    slot,
    schedule: slot.schedule,
    book: bookTemplate,
    convert: convertTemplate,
    hold: holdTemplate,
    ...callTemplates,
  };
  const failed = (field: string, error: unknown): MappingEvaluationError =>
    new MappingEvaluationError(name, field, error, sourceAt(rules, field));
  const guard = <T>(field: string, run: () => T): T => {
    try {
      return run();
    } catch (error) {
      if (isContinuumError(error)) throw error;
      throw failed(field, error);
    }
  };
  const guardAsync = async <T>(field: string, run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      if (isContinuumError(error)) throw error;
      throw failed(field, error);
    }
  };
  const evaluate = (field: string, expression: FhirPathExpression, focus: unknown): unknown[] =>
    guard(field, () => expression.evaluate(focus));
  const writer = { constants, guard, guardAsync };

  const calls: CallWriteSpec = {
    codes: callFile.value.codes,
    encounter: callTemplates.encounter,
    communication: callTemplates.communication,
    callback: callTemplates.callback,
  };
  const reasonTable = appointmentFile.value.codes.cancellationReason;
  const cancellationReasons = [...new Set(Object.values(reasonTable.map))].sort();
  const isEhrReasonCode = (given: string): boolean => Object.hasOwn(reasonTable.map, given);
  // Desks and IVRs send `Weather` or `PAT` as often as the table's spelling: matched without case,
  // recorded as the table spells it. An exact match wins where two entries differ only in case.
  const valueByLowerCase = new Map(cancellationReasons.map((value) => [value.toLowerCase(), value]));
  const codeByLowerCase = new Map(Object.keys(reasonTable.map).map((code) => [code.toLowerCase(), code]));
  const cancellationReasonOf = (given: string): string | undefined => {
    if (cancellationReasons.includes(given)) return given;
    if (isEhrReasonCode(given)) return reasonTable.map[given];
    const value = valueByLowerCase.get(given.toLowerCase());
    if (value !== undefined) return value;
    const code = codeByLowerCase.get(given.toLowerCase());
    return code !== undefined ? reasonTable.map[code] : undefined;
  };
  /** A call-center reason as the EHR codes it (the table read backwards), with the words kept as text. */
  const cancellationReason = (reason: string | undefined): CodeableConcept | undefined => {
    if (reason === undefined) return undefined;
    const system = reasonTable.system !== undefined ? { system: reasonTable.system } : {};
    const coded = (code: string, text: string): CodeableConcept => ({ coding: [{ ...system, code }], text });
    if (cancellationReasons.includes(reason)) return coded(lookUpCode(reasonTable, reason) ?? reason, reason);
    if (isEhrReasonCode(reason)) return coded(reason, reasonTable.map[reason] ?? reason);
    // Only a write queued before reasons were checked at acceptance gets here. Its words were the
    // caller's and still go, as text; but a code the EHR's table does not have would be refused by
    // the EHR or, worse, read as one of its own codes. So the words go under the table's `other`
    // code when it has one, else as text alone.
    const other = cancellationReasons.includes('other') ? lookUpCode(reasonTable, 'other') : undefined;
    return other !== undefined ? coded(other, reason) : { text: reason };
  };
  /**
   * An amendment is an update of the same record: it keeps the id and version it was made from
   * (the If-Match is taken from them), and must read back as what it set out to change.
   */
  const amended = (
    field: string,
    before: Appointment,
    next: Appointment,
    wrong: (model: AppointmentModel) => string | undefined,
  ): Appointment => {
    const result: Appointment = {
      ...next,
      ...(before.id !== undefined ? { id: before.id } : {}),
      ...(before.meta !== undefined ? { meta: before.meta } : {}),
    };
    const problem = guard(field, () => wrong(profile.readAppointment(result)));
    if (problem !== undefined)
      throw failed(field, new TypeError(`the ${field.split('.')[0] ?? ''} template's result ${problem}`));
    return result;
  };
  /** Evaluates a write template and checks it produced the resource type it must. */
  const runTemplate = <T>(
    field: string,
    template: CompiledTemplate,
    value: Record<string, unknown>,
    resourceType: string,
  ): Promise<T> =>
    guardAsync(field, async () => {
      const output = await template.evaluate(value, { ...constants, value, existing: undefined, index: 0 });
      // Through JSON: JSONata results carry sequence flags, and undefined fields must drop out.
      const json = JSON.parse(JSON.stringify(output ?? null)) as unknown;
      if (
        json === null ||
        typeof json !== 'object' ||
        (json as { resourceType?: unknown }).resourceType !== resourceType
      ) {
        const article = /^[AEIOU]/.test(resourceType) ? 'an' : 'a';
        throw new TypeError(
          `the ${field.split('.')[0] ?? ''} template must produce ${article} ${resourceType}`,
        );
      }
      return json as T;
    });

  const profile: MappingProfile = {
    name,
    hash: hashProfileFiles(files),
    phoneRegion,
    mrnSystems: constants.mrnSystems,
    readPatient: (resource) => readPatientWith(read, toE164, evaluate, resource),
    readPhones: (resource) => readPhonesWith(read, toE164, evaluate, resource),
    readAppointment: (resource) => readAppointmentWith(appointment, evaluate, resource),
    readSlot: (resource, schedule) => readSlotWith(slot, evaluate, resource, schedule),
    slotServiceTypeSearch: slotFile.value.serviceTypeSearch,
    buildCallEncounter: (call) =>
      runTemplate('encounter.template', calls.encounter, callTemplateInput(calls, call), 'Encounter'),
    buildCallCommunication: (call, encounterId) =>
      runTemplate(
        'communication.template',
        calls.communication,
        {
          ...callTemplateInput(calls, call),
          encounter: { reference: `Encounter/${encounterId}` },
        },
        'Communication',
      ),
    buildCallbackTask: (request, authoredOn) =>
      runTemplate('callback.template', calls.callback, callbackTemplateInput(request, authoredOn), 'Task'),
    cancellationReasons,
    cancellationReasonOf,
    cancellationReason,
    cancelAppointment: (resource, reason) => {
      const cancelationReason = cancellationReason(reason);
      return { ...resource, status: 'cancelled', ...(cancelationReason ? { cancelationReason } : {}) };
    },
    convertAppointment: async (resource, mode, reason) => {
      const value = {
        appointment: resource,
        mode: lookUpCode(appointmentFile.value.codes.mode, mode),
        reason: cancellationReason(reason),
      };
      const next = await runTemplate<Appointment>('convert.template', convertTemplate, value, 'Appointment');
      // What is written must read back as the new mode, or the next read would undo the change.
      return amended('convert.template', resource, next, (model) =>
        model.mode === mode ? undefined : `reads back as mode ${model.mode}, not ${mode}`,
      );
    },
    holdAppointment: async (resource, reason) => {
      const value = { appointment: resource, reason: cancellationReason(reason) };
      const next = await runTemplate<Appointment>('hold.template', holdTemplate, value, 'Appointment');
      return amended('hold.template', resource, next, (model) =>
        model.status === 'waitlist' ? undefined : `reads back as ${model.status}, not waitlist`,
      );
    },
    buildAppointment: (resource, schedule, booking) => {
      const reference = (field: 'practitioner' | 'location'): unknown =>
        schedule === undefined ? undefined : evaluate(`schedule.${field}`, slot.schedule[field], schedule)[0];
      const codes = appointmentFile.value.codes;
      const value = {
        patient: { reference: `Patient/${booking.patientId}` },
        slot: { reference: `Slot/${resource.id ?? ''}`, start: resource.start, end: resource.end },
        practitioner: reference('practitioner'),
        location: reference('location'),
        serviceType: resource.serviceType ?? schedule?.serviceType,
        mode: lookUpCode(codes.mode, booking.mode),
        appointmentType: lookUpCode(codes.appointmentType, booking.appointmentType),
        reason: booking.reason,
      };
      return runTemplate<Appointment>('book.template', bookTemplate, value, 'Appointment');
    },
    applyPatientChanges: (resource, changes) => applyPatientChangesWith(write, writer, resource, changes),
    touchedElements: (changes) => touchedElementsWith(write, changes),
    buildPatient: async (input) => {
      const core = await runTemplate<Patient>('create.template', create, { ...input }, 'Patient');
      const { phones, email, address, preferredLanguage } = input;
      return applyPatientChangesWith(write, writer, core, { phones, email, address, preferredLanguage });
    },
  };
  await tryProfile(profile, patientLabel, problems);
  /** A mistake only visible when an expression runs stops the start-up, named once per field. */
  const trySample = async (file: string, what: string, run: () => unknown): Promise<void> => {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof MappingEvaluationError)) throw error;
      if (problems.some((problem) => problem.file === file && problem.field === error.field)) return;
      problems.push({
        file,
        field: error.field,
        message: `fails on a sample ${what}: ${firstLine(error.cause)}${templatePosition(error)}`,
      });
    }
  };
  const bareAppointment = {
    resourceType: 'Appointment' as const,
    status: 'booked' as const,
    participant: [],
  };
  for (const sample of [SAMPLE_APPOINTMENT, bareAppointment]) {
    await trySample(appointmentLabel, 'Appointment', () => profile.readAppointment(sample));
  }
  await trySample(slotLabel, 'Slot', () => profile.readSlot(SAMPLE_SLOT, SAMPLE_SCHEDULE));
  const sampleCall = {
    patientId: 'sample',
    direction: 'inbound' as const,
    startedAt: '2024-01-02T09:00:00Z',
    endedAt: '2024-01-02T09:05:00Z',
    agent: { name: 'Agent Sample', practitionerId: 'sample' },
    reason: 'appointment',
    disposition: 'resolved',
    notes: 'Sample notes',
  };
  await trySample(callLabel, 'call', () => profile.buildCallEncounter(sampleCall));
  await trySample(callLabel, 'call', () => profile.buildCallCommunication(sampleCall, 'sample'));
  await trySample(callLabel, 'callback', () =>
    profile.buildCallbackTask(
      {
        patientId: undefined,
        phone: '+16175550100',
        windowStart: undefined,
        windowEnd: undefined,
        priority: 'routine',
        reason: undefined,
        notes: undefined,
      },
      '2024-01-02T09:00:00Z',
    ),
  );
  await trySample(appointmentLabel, 'booking', () =>
    profile.buildAppointment(SAMPLE_SLOT, SAMPLE_SCHEDULE, {
      patientId: 'sample',
      mode: 'video',
      appointmentType: 'routine',
      reason: 'Sample reason',
    }),
  );
  await trySample(slotLabel, 'Slot', () =>
    profile.readSlot({ resourceType: 'Slot', schedule: {}, status: 'free', start: '', end: '' }, undefined),
  );
  for (const sample of [SAMPLE_APPOINTMENT, bareAppointment]) {
    await trySample(appointmentLabel, 'conversion', () =>
      profile.convertAppointment(sample, 'video', 'weather'),
    );
    await trySample(appointmentLabel, 'conversion', () =>
      profile.convertAppointment(sample, 'phone', undefined),
    );
    await trySample(appointmentLabel, 'hold', () => profile.holdAppointment(sample, 'weather'));
    await trySample(appointmentLabel, 'hold', () => profile.holdAppointment(sample, undefined));
  }
  if (problems.length > 0) throw new MappingProfileError(problems);
  return profile;
}

function resolveRegion(
  profile: ProfileFile,
  options: LoadMappingProfileOptions,
  label: string,
  problems: MappingProblem[],
): CountryCode {
  const own = profile.phone.defaultRegion;
  const region = profile.phone.pinRegion ? own : (options.defaultRegion ?? own);
  if (region === undefined) {
    problems.push({
      file: label,
      field: 'phone.defaultRegion',
      message: 'no default phone region: set one here or in the gateway configuration',
    });
    return 'US';
  }
  return region;
}

/** `e164()`: the stored number in E.164, so that rules can match numbers however they were written. */
export function phoneFunctions(toE164: PhoneNormalizer): UserInvocationTable {
  return {
    e164: {
      fn: (inputs: unknown[]) =>
        inputs.flatMap((value) => (typeof value === 'string' ? (toE164(value) ?? []) : [])),
      arity: { 0: [] },
    },
  };
}

class ExpressionCompiler {
  constructor(
    private readonly file: string,
    /** What the file's expressions start from when a rule names no narrower base. */
    private readonly resourceType: string,
    private readonly constants: Readonly<Record<string, unknown>>,
    private readonly functions: UserInvocationTable,
    private readonly templateLimits: TemplateLimits,
    private readonly problems: MappingProblem[],
  ) {}

  fhirPath(field: string, source: string, base?: string): FhirPathExpression | undefined {
    let compiled: FhirPathExpression;
    try {
      compiled = compileFhirPath(source, {
        constants: this.constants,
        functions: this.functions,
        ...(base === undefined ? {} : { base }),
      });
    } catch (error) {
      this.problem(field, firstLine(error));
      return undefined;
    }
    const lint = lintFhirPath(source, base ?? this.resourceType);
    for (const problem of lint) this.problem(field, problem.message + lintPosition(source, problem));
    return lint.length === 0 ? compiled : undefined;
  }

  template(field: string, source: string): CompiledTemplate | undefined {
    try {
      return compileTemplate(
        source,
        [...TEMPLATE_VARIABLES, ...Object.keys(this.constants)],
        this.templateLimits,
      );
    } catch (error) {
      this.problem(field, firstLine(error));
      return undefined;
    }
  }

  problem(field: string, message: string): void {
    this.problems.push({ file: this.file, field, message });
  }
}

/** Where in its template a JSONata evaluation stopped, for the load error. */
function templatePosition(error: MappingEvaluationError): string {
  return error.position === undefined
    ? ''
    : ` (template line ${error.position.line}, column ${error.position.column})`;
}

/** Where in a multi-line expression the lint found its problem; one-line ones need no pointer. */
function lintPosition(source: string, problem: FhirPathLintProblem): string {
  if (!source.trim().includes('\n') || problem.line === undefined) return '';
  return ` (expression line ${problem.line}, column ${problem.column ?? 1})`;
}

function compileRead(read: PatientReadFile, compiler: ExpressionCompiler): PatientReadSpec | undefined {
  const top = (field: keyof PatientReadFile, source: string) => compiler.fhirPath(`read.${field}`, source);
  const within = (base: 'name' | 'address', field: string, source: string) =>
    compiler.fhirPath(`read.${base}.${field}`, source, `Patient.${base}`);
  const spec = {
    id: top('id', read.id),
    version: top('version', read.version),
    mrn: top('mrn', read.mrn),
    name: {
      from: top('name', read.name.from),
      given: within('name', 'given', read.name.given),
      family: within('name', 'family', read.name.family),
      text: read.name.text === undefined ? undefined : within('name', 'text', read.name.text),
    },
    birthDate: top('birthDate', read.birthDate),
    gender: top('gender', read.gender),
    phones: top('phones', read.phones),
    email: top('email', read.email),
    address: {
      from: top('address', read.address.from),
      line: within('address', 'line', read.address.line),
      city: within('address', 'city', read.address.city),
      state: within('address', 'state', read.address.state),
      postalCode: within('address', 'postalCode', read.address.postalCode),
      country: within('address', 'country', read.address.country),
    },
    preferredLanguage: top('preferredLanguage', read.preferredLanguage),
  };
  const { name, address, ...scalars } = spec;
  const compiled = [...Object.values(scalars), name.from, name.given, name.family, ...Object.values(address)];
  if (compiled.includes(undefined) || (read.name.text !== undefined && name.text === undefined)) {
    return undefined;
  }
  return spec as PatientReadSpec;
}

function compileAppointmentRead(
  file: AppointmentFile,
  compiler: ExpressionCompiler,
): AppointmentReadSpec | undefined {
  const read: Partial<Record<AppointmentReadField, FhirPathExpression>> = {};
  for (const [field, source] of Object.entries(file.read) as [AppointmentReadField, string][]) {
    const compiled = compiler.fhirPath(`read.${field}`, source, 'Appointment');
    if (compiled !== undefined) read[field] = compiled;
  }
  if (Object.keys(read).length !== Object.keys(file.read).length) return undefined;
  return { read: read as Record<AppointmentReadField, FhirPathExpression>, codes: file.codes };
}

function compileSlotRead(file: SlotFile, compiler: ExpressionCompiler): SlotReadSpec | undefined {
  const compileAll = <K extends string>(
    section: 'read' | 'schedule',
    base: string,
    rules: Readonly<Record<K, string>>,
  ): Record<K, FhirPathExpression> | undefined => {
    const out: Partial<Record<K, FhirPathExpression>> = {};
    for (const [field, source] of Object.entries(rules) as [K, string][]) {
      const compiled = compiler.fhirPath(`${section}.${field}`, source, base);
      if (compiled !== undefined) out[field] = compiled;
    }
    return Object.keys(out).length === Object.keys(rules).length
      ? (out as Record<K, FhirPathExpression>)
      : undefined;
  };
  const read = compileAll<SlotReadField>('read', 'Slot', file.read);
  const schedule = compileAll<ScheduleReadField>('schedule', 'Schedule', file.schedule);
  return read === undefined || schedule === undefined ? undefined : { read, schedule };
}

function compileWrite(
  write: Readonly<Record<PatientWriteField, WriteRuleFile>>,
  compiler: ExpressionCompiler,
): PatientWriteSpec | undefined {
  const rules: Partial<Record<PatientWriteField, WriteRule>> = {};
  for (const field of WRITE_FIELDS) {
    const rule = write[field];
    const base = `Patient.${rule.element}`;
    if (r4.path2Repeating[base] !== true) {
      compiler.problem(
        `write.${field}.element`,
        `${rule.element} is not a repeating element of the R4 Patient`,
      );
      continue;
    }
    const replaces = compiler.fhirPath(`write.${field}.replaces`, rule.replaces, base);
    const existingSources =
      rule.existing === undefined ? [] : Array.isArray(rule.existing) ? rule.existing : [rule.existing];
    const existing = existingSources.map((source, index) =>
      compiler.fhirPath(
        Array.isArray(rule.existing) ? `write.${field}.existing[${index}]` : `write.${field}.existing`,
        source,
        base,
      ),
    );
    const template = compiler.template(`write.${field}.template`, rule.template);
    if (replaces === undefined || template === undefined || existing.includes(undefined)) {
      continue;
    }
    rules[field] = {
      element: rule.element,
      replaces,
      whenNoneReplaced: rule.whenNoneReplaced,
      existing: existing.filter((expression) => expression !== undefined),
      template,
    };
  }
  const { phones, email, address, preferredLanguage } = rules;
  if (
    phones === undefined ||
    email === undefined ||
    address === undefined ||
    preferredLanguage === undefined
  ) {
    return undefined;
  }
  return { phones, email, address, preferredLanguage };
}

/**
 * Runs the compiled profile on sample data, so that what only shows when it runs (unknown FHIRPath
 * functions or `%variables`, a template that does not produce an object) stops the start-up instead.
 */
async function tryProfile(profile: MappingProfile, file: string, problems: MappingProblem[]): Promise<void> {
  const attempt = async (run: () => unknown): Promise<void> => {
    try {
      await run();
    } catch (error) {
      if (!(error instanceof MappingEvaluationError)) throw error;
      // Both samples usually trip on the same mistake: say it once.
      if (problems.some((problem) => problem.field === error.field)) return;
      problems.push({
        file,
        field: error.field,
        message: `fails on a sample Patient: ${firstLine(error.cause)}${templatePosition(error)}`,
      });
    }
  };
  for (const sample of [SAMPLE_PATIENT, EMPTY_PATIENT]) {
    await attempt(() => profile.readPatient(sample));
    for (const field of WRITE_FIELDS) {
      const changes = {
        [field]: field === 'phones' ? [SAMPLE_CHANGE_VALUES.phones] : SAMPLE_CHANGE_VALUES[field],
      };
      await attempt(() => profile.applyPatientChanges(sample, changes));
      await attempt(() => profile.applyPatientChanges(sample, { [field]: field === 'phones' ? [] : null }));
    }
  }
}

/** The source text of the compiled rule a dotted field names, or of the nearest rule above it. */
function sourceAt(rules: Readonly<Record<string, unknown>>, field: string): string | undefined {
  let node: unknown = rules;
  let source: string | undefined;
  for (const part of field.split('.')) {
    if (node === null || typeof node !== 'object') break;
    node = (node as Record<string, unknown>)[part];
    const own = (node as { source?: unknown } | undefined)?.source;
    if (typeof own === 'string') source = own;
  }
  return source;
}
