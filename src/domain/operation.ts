/**
 * An operation is one accepted write and its receipt. It is stored before the API answers 202
 * and is the source of truth for idempotency, ordering and status; queue jobs carry only its id.
 */
import type { ErrorCode } from './errors';
import type { AppointmentMode, VirtualMode } from './appointment';
import type { CallbackRequest, CallLog } from './call';
import type { NewPatient, PatientChanges } from './patient';
import type { SlotModel } from './slot';
import type { Urgency, UrgencyReason } from './urgency';

export const OPERATION_STATUSES = [
  'queued',
  'sending',
  'succeeded',
  'failed',
  'needs-review',
  'cancelled',
] as const;
export type OperationStatus = (typeof OPERATION_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OperationStatus> = new Set([
  'succeeded',
  'failed',
  'needs-review',
  'cancelled',
]);

export type OperationKind =
  | 'patient.update'
  | 'patient.create'
  | 'appointment.book'
  | 'appointment.cancel'
  | 'appointment.confirm'
  | 'appointment.reschedule'
  | 'appointment.convert'
  | 'appointment.hold'
  | 'call.log'
  | 'callback.request';

/** The identifier system of the business identifier every created resource carries: its operation id. */
export const OPERATION_IDENTIFIER_SYSTEM = 'urn:continuum:operation';

/**
 * The lane of one patient's writes on one connection: they apply in acceptance order. A new
 * patient has no lane to share yet, so each registration is its own.
 */
export function patientLane(connection: string, patientId: string): string {
  return `${connection}/Patient/${patientId}`;
}

/** The lane of a write that names no patient (a registration, a call from an unknown number). */
export function ownLane(
  connection: string,
  operation: { readonly id: string; readonly kind: OperationKind },
): string {
  // Registrations kept their lane name from before other kinds could have a lane of their own.
  const label = operation.kind === 'patient.create' ? 'registration' : 'own';
  return `${connection}/${label}/${operation.id}`;
}

/** How one run of a write job ended: `skipped` when there was nothing left to send. */
export type ProcessOutcome = 'succeeded' | 'failed' | 'needs-review' | 'skipped';

export interface OperationError {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly detail: string | undefined;
  /** The EHR's OperationOutcome, kept for the receipt (encrypted at rest like the rest). */
  readonly outcome?: unknown;
  /** Where a mapping profile failed on this record; names and expressions only, never values. */
  readonly mapping?: MappingFailure;
  /** The EHR's HTTP status, when the failure was its answer (401 and 403 tell a refusal's kind). */
  readonly ehrStatus?: number;
}

/** The PHI-free cause of a MAPPING_FAILED write: enough for an integration engineer to find the rule. */
export interface MappingFailure {
  readonly profile: string;
  /** The profile file holding the rule, e.g. `patient.yaml`. */
  readonly file: string;
  /** The rule, e.g. `write.address.template`. */
  readonly field: string;
  /** The rule's FHIRPath or JSONata source, when known (profile text, not patient data). */
  readonly expression?: string;
  /** The class of the error the rule threw (`TypeError`, or a JSONata code such as `T2002`). */
  readonly errorClass: string;
}

export interface OperationEvent {
  readonly status: OperationStatus;
  readonly at: string;
  readonly attempt: number;
  readonly error?: OperationError;
  readonly note?: string;
}

/** What each kind carries: the call-center-model request, kept to re-map on replay. */
export interface PatientUpdatePayload {
  readonly kind: 'patient.update';
  readonly patientId: string;
  readonly changes: PatientChanges;
  /** The EHR version the agent's change was based on (If-Match, or the version last read). */
  readonly baseVersion: string | undefined;
}

export interface PatientCreatePayload {
  readonly kind: 'patient.create';
  readonly patient: NewPatient;
}

/** A booking: the slot as the caller was offered it, kept so reads can show the booking pending. */
export interface AppointmentBookPayload {
  readonly kind: 'appointment.book';
  readonly patientId: string;
  readonly slotId: string;
  readonly mode: AppointmentMode;
  /** Call-center appointment type (the profile's table turns it into the EHR's code). */
  readonly appointmentType: string | undefined;
  readonly reason: string | undefined;
  /** What the slot looked like when the booking was taken; undefined when the EHR was down. */
  readonly slot: SlotModel | undefined;
}

/** A change to an existing appointment: cancel it, or confirm the patient will come. */
export interface AppointmentChangePayload {
  readonly kind: 'appointment.cancel' | 'appointment.confirm';
  readonly patientId: string;
  readonly appointmentId: string;
  /** Call-center cancellation reason (the profile's table turns it into the EHR's code). */
  readonly reason: string | undefined;
}

/** Keep the time and the slot, change how the visit happens (a closed site's visits go virtual). */
export interface AppointmentConvertPayload {
  readonly kind: 'appointment.convert';
  readonly patientId: string;
  readonly appointmentId: string;
  readonly mode: VirtualMode;
  /** Call-center reason for the change (the cancellation-reason table's values, e.g. `weather`). */
  readonly reason: string | undefined;
}

/**
 * Hold for reschedule: the visit is taken off the schedule (FHIR `waitlist`), its slot offered
 * again, and the patient is to be called back for a new time. The appointment keeps its old time
 * as a record of what was held.
 */
export interface AppointmentHoldPayload {
  readonly kind: 'appointment.hold';
  readonly patientId: string;
  readonly appointmentId: string;
  /** Call-center reason, coded through the cancellation-reason table. */
  readonly reason: string | undefined;
}

/** A saga: book the new slot, then cancel the old appointment; the old one stays if booking fails. */
export interface AppointmentReschedulePayload {
  readonly kind: 'appointment.reschedule';
  readonly patientId: string;
  readonly appointmentId: string;
  readonly booking: Omit<AppointmentBookPayload, 'kind' | 'patientId'>;
  /** Call-center cancellation reason recorded on the old appointment. */
  readonly reason: string | undefined;
}

export interface CallLogPayload {
  readonly kind: 'call.log';
  readonly call: CallLog;
}

export interface CallbackRequestPayload {
  readonly kind: 'callback.request';
  readonly callback: CallbackRequest;
}

export type OperationPayload =
  | PatientUpdatePayload
  | PatientCreatePayload
  | AppointmentBookPayload
  | AppointmentChangePayload
  | AppointmentReschedulePayload
  | AppointmentConvertPayload
  | AppointmentHoldPayload
  | CallLogPayload
  | CallbackRequestPayload;

/** The patient a write is about, when it names one: its lane is that patient's. */
export function patientIdOf(payload: OperationPayload): string | undefined {
  switch (payload.kind) {
    case 'patient.create':
      return undefined;
    case 'call.log':
      return payload.call.patientId;
    case 'callback.request':
      return payload.callback.patientId;
    default:
      return payload.patientId;
  }
}

/** The slot a queued write has been promised, if any: released when the write is final. */
export function heldSlotOf(payload: OperationPayload): string | undefined {
  if (payload.kind === 'appointment.book') return payload.slotId;
  if (payload.kind === 'appointment.reschedule') return payload.booking.slotId;
  return undefined;
}

/** Who accepted a write: its tenant sees the receipt; nobody else does. */
export interface OperationOwner {
  readonly clientId: string;
  readonly tenant: string;
}

export interface Operation {
  readonly id: string;
  readonly kind: OperationKind;
  readonly connection: string;
  /** Writes in one lane apply in acceptance order: `Patient/<id>` on a connection. */
  readonly lane: string;
  readonly patientId: string | undefined;
  readonly payload: OperationPayload;
  readonly mappingProfile: string;
  readonly mappingHash: string;
  readonly idempotencyKey: string | undefined;
  /** sha256 of the canonical request: same key with another body is refused. */
  readonly requestHash: string;
  readonly correlationId: string | undefined;
  readonly requestId: string | undefined;
  /** Absent on writes accepted before clients existed: those belong to their connection's tenants. */
  readonly owner?: OperationOwner;
  readonly status: OperationStatus;
  /** Absent on writes accepted before urgency was decided: those are routine. */
  readonly urgency?: Urgency;
  readonly urgencyReason?: UrgencyReason;
  readonly attempts: number;
  readonly lastError: OperationError | undefined;
  readonly resourceRef: string | undefined;
  readonly resourceVersion: string | undefined;
  /**
   * Set when a create found its resource already in the EHR (a registration under an MRN the EHR
   * holds): the operation succeeded without creating anything, and answers 200, not 201.
   */
  readonly resourceExisted?: boolean;
  readonly history: readonly OperationEvent[];
  /** Set when the operation needs a person: the fields both sides changed. */
  readonly review: ReviewDiff | undefined;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export function urgencyOf(op: Pick<Operation, 'urgency'>): Urgency {
  return op.urgency ?? 'routine';
}

export interface ReviewDiff {
  readonly reason: string;
  readonly fields: readonly {
    readonly element: string;
    readonly base: unknown;
    readonly current: unknown;
    readonly requested: unknown;
  }[];
}

/**
 * The receipt: what callers see of an operation (no payload: it carries PHI). Absent values are
 * `null`, not missing, so call-center tools can map every field.
 */
export interface Receipt {
  readonly operationId: string;
  readonly kind: OperationKind;
  readonly status: OperationStatus;
  readonly urgency: Urgency;
  readonly urgencyReason: UrgencyReason | null;
  /**
   * When the write should reach the EHR at the current drain rate, for a write still waiting;
   * null when final, or when nothing drains (the EHR is down) and no estimate can be made.
   */
  readonly expectedBy: string | null;
  readonly connection: string;
  readonly patientId: string | null;
  readonly resourceRef: string | null;
  readonly attempts: number;
  readonly lastError: OperationError | null;
  readonly history: readonly OperationEvent[];
  readonly review: ReviewDiff | null;
  /** The mapping profile version the write applies with: the one it was accepted (or last retried) under. */
  readonly profile: { readonly name: string; readonly hash: string };
  readonly createdAt: string;
  readonly updatedAt: string;
}

/** The receipt; `expectedBy` is the waiting write's estimate, see `expectedArrival`. */
export function toReceipt(op: Operation, expectedBy: Date | undefined): Receipt {
  return {
    operationId: op.id,
    kind: op.kind,
    status: op.status,
    urgency: urgencyOf(op),
    urgencyReason: op.urgencyReason ?? null,
    expectedBy:
      expectedBy === undefined || TERMINAL_STATUSES.has(op.status) ? null : expectedBy.toISOString(),
    connection: op.connection,
    patientId: op.patientId ?? null,
    resourceRef: op.resourceRef ?? null,
    attempts: op.attempts,
    lastError: op.lastError ?? null,
    history: op.history,
    review: op.review ?? null,
    profile: { name: op.mappingProfile, hash: op.mappingHash },
    createdAt: op.createdAt,
    updatedAt: op.updatedAt,
  };
}

export interface OperationTransition {
  readonly status: OperationStatus;
  readonly attempts?: number;
  readonly error?: OperationError | undefined;
  readonly resourceRef?: string;
  readonly resourceVersion?: string;
  readonly note?: string;
  readonly review?: ReviewDiff;
  readonly patientId?: string;
  readonly resourceExisted?: boolean;
}

/** Pure state change with its history entry. */
export function transition(op: Operation, change: OperationTransition, at: Date): Operation {
  const attempts = change.attempts ?? op.attempts;
  const event: OperationEvent = {
    status: change.status,
    at: at.toISOString(),
    attempt: attempts,
    ...(change.error ? { error: change.error } : {}),
    ...(change.note ? { note: change.note } : {}),
  };
  return {
    ...op,
    status: change.status,
    attempts,
    lastError: change.error ?? op.lastError,
    resourceRef: change.resourceRef ?? op.resourceRef,
    resourceVersion: change.resourceVersion ?? op.resourceVersion,
    review: change.review ?? op.review,
    patientId: change.patientId ?? op.patientId,
    ...(change.resourceExisted === true ? { resourceExisted: true } : {}),
    history: [...op.history, event],
    updatedAt: at.toISOString(),
  };
}
