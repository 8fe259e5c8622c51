/**
 * What the rest of Continuum needs from a mapping profile. The engine in this folder loads a
 * profile folder (mappings/<name>/) and implements this; use cases depend on this interface only.
 */
import type { AppointmentModel } from './appointment';
import type { CallbackRequest, CallLog } from './call';
import type {
  Appointment,
  CodeableConcept,
  Communication,
  Encounter,
  Patient,
  Schedule,
  Slot,
  Task,
} from './fhir';
import type { ServiceTypeSearch, SlotModel } from './slot';
import type { AppointmentMode } from './appointment';
import type { NewPatient, PatientChanges, PatientModel } from './patient';
import type { CountryCode } from 'libphonenumber-js';

/** What a caller asks for when booking, in the call-center model. */
export interface BookingRequest {
  readonly patientId: string;
  readonly mode: AppointmentMode;
  readonly appointmentType: string | undefined;
  readonly reason: string | undefined;
}

export interface MappingProfile {
  /** Folder name, e.g. `default`. */
  readonly name: string;
  /** sha256 (hex) over the profile's files: recorded on every operation it produces. */
  readonly hash: string;
  /**
   * The region of numbers written without a country code: the profile's own when it pins one, else
   * the gateway's. Stored numbers are read with it, and so are the numbers the API takes for this EHR.
   */
  readonly phoneRegion: CountryCode;
  /** `identifiers.mrn.systems`: the EHR's MRN systems, the first one the system registrations write. */
  readonly mrnSystems: readonly string[];
  /** FHIR Patient -> call-center model. Pure. */
  readPatient(resource: Patient): PatientModel;
  /** The patient's phone numbers in E.164, as `readPatient` gives them. Pure. */
  readPhones(resource: Patient): string[];
  /** FHIR Appointment -> call-center model, codes translated by the profile's tables. Pure. */
  readAppointment(resource: Appointment): AppointmentModel;
  /** FHIR Slot (with its Schedule, when known) -> call-center slot. Pure. */
  readSlot(resource: Slot, schedule: Schedule | undefined): SlotModel;
  /** Where this EHR keeps a slot's service type (slot.yaml `serviceTypeSearch`). */
  readonly slotServiceTypeSearch: ServiceTypeSearch;
  /**
   * The Appointment a booking creates on `slot` (with its Schedule, which says with whom and
   * where), from the profile's `book` template; codes come from its tables, read backwards.
   */
  buildAppointment(slot: Slot, schedule: Schedule | undefined, booking: BookingRequest): Promise<Appointment>;
  /** A logged call's Encounter (class VR, telephone), from the profile's `encounter` template. */
  buildCallEncounter(call: CallLog): Promise<Encounter>;
  /** The call's Communication (medium PHONE, the agent's notes), linked to its Encounter. */
  buildCallCommunication(call: CallLog, encounterId: string): Promise<Communication>;
  /** A callback request's Task, from the profile's `callback` template. */
  buildCallbackTask(request: CallbackRequest, authoredOn: string): Promise<Task>;
  /**
   * The appointment as it is, turned into a `mode` visit at the same time and slot, from the
   * profile's `convert` template; checked to read back as `mode`.
   */
  convertAppointment(
    resource: Appointment,
    mode: AppointmentMode,
    reason: string | undefined,
  ): Promise<Appointment>;
  /**
   * The appointment held for reschedule (FHIR `waitlist`), the reason recorded, from the profile's
   * `hold` template; checked to read back as `waitlist`.
   */
  holdAppointment(resource: Appointment, reason: string | undefined): Promise<Appointment>;
  /**
   * The appointment cancelled: status `cancelled`, and the reason (if any) as its
   * cancelationReason, coded from the profile's table. Pure: the input is not modified.
   */
  cancelAppointment(resource: Appointment, reason: string | undefined): Appointment;
  /**
   * The call-center cancellation reasons this profile accepts: the values of appointment.yaml
   * `codes.cancellationReason`, sorted, each once. A reason outside them is refused when a change
   * is accepted, never sent as a code the EHR does not have.
   */
  readonly cancellationReasons: readonly string[];
  /**
   * The call-center value of a reason as given: itself when it is one of `cancellationReasons`,
   * the value the table maps it to when it is one of the EHR's own codes there; undefined else.
   */
  cancellationReasonOf(given: string): string | undefined;
  /**
   * Appointment.cancelationReason for a call-center reason (the table read backwards). A reason
   * the table does not know (queued before reasons were checked) goes as words, never as a code.
   */
  cancellationReason(reason: string | undefined): CodeableConcept | undefined;
  /**
   * Apply a demographic correction to a FHIR Patient and return the new resource (pure: the
   * input is not modified). Fields the change does not name stay exactly as they were. Phones come
   * in E.164 (a number in any other form is a VALIDATION error); the template writes them as this
   * EHR stores them. Async because write templates are JSONata, which evaluates asynchronously.
   */
  applyPatientChanges(resource: Patient, changes: PatientChanges): Promise<Patient>;
  /**
   * A new FHIR Patient for a registration: the profile's `create` template builds the core (name,
   * birth date, gender, MRN), then the write rules add phones, email, address and language.
   */
  buildPatient(input: NewPatient): Promise<Patient>;
  /** The FHIR fields (top-level element names) a change touches: used to detect overlapping edits. */
  touchedElements(changes: PatientChanges): readonly string[];
}
