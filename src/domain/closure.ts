/**
 * A site closure: every future visit at some locations in a time window cancelled, turned into a
 * video or phone visit, or held for rescheduling, and every affected patient called back. One
 * record per closure holds what was found and how far queuing got (its checkpoint), so the run
 * resumes where it stopped after a crash; each change and callback is an ordinary write of the
 * pipeline, so its receipt is the truth about whether it happened.
 */
import type { AppointmentMode, ReferenceModel } from './appointment';
import type { CallbackPriority } from './call';
import type { CallbackWindow } from './callback-windows';
import type { OperationOwner } from './operation';

export const CLOSURE_ACTIONS = ['cancel', 'convert-to-virtual', 'hold-for-reschedule'] as const;
export type ClosureAction = (typeof CLOSURE_ACTIONS)[number];

export const CLOSURE_STATUSES = ['finding', 'running', 'completed', 'stopped', 'failed'] as const;
export type ClosureStatus = (typeof CLOSURE_STATUSES)[number];

/** Appointment statuses that are still a commitment to come: the ones a closure changes. */
export const CLOSABLE_APPOINTMENT_STATUSES = ['booked', 'pending', 'proposed'] as const;

/** What the runner has got to: found the visits, queued every change, queued every callback. */
export type ClosurePhase = 'finding' | 'queuing-changes' | 'queuing-callbacks' | 'queued' | 'failed';

export interface ClosureRequest {
  readonly connection: string;
  readonly locations: readonly string[];
  readonly from: string;
  readonly to: string;
  readonly action: ClosureAction;
  /** For `convert-to-virtual`: the new visit mode. */
  readonly mode: 'video' | 'phone' | undefined;
  /** Free text: what the patients' callbacks and notices say, and the visits' reason when not coded. */
  readonly reason: string;
  /**
   * A reason from the profile's cancellation-reason table for every visit the closure changes;
   * absent: `reason` when it is a table value, else the table's `other` code with `reason` as text.
   */
  readonly cancellationReason: string | undefined;
  readonly callback: {
    readonly priority: CallbackPriority;
    readonly window: { readonly start: string; readonly end: string } | undefined;
  };
  readonly activationId: string | undefined;
}

/** One visit the closure changes. */
export interface ClosureTarget {
  readonly appointmentId: string;
  readonly patientId: string;
  readonly start: string;
  readonly end: string | undefined;
  readonly location: ReferenceModel;
  readonly practitioner: ReferenceModel | undefined;
  readonly mode: AppointmentMode;
  /** Set once its write is accepted. */
  readonly operationId?: string;
  /** Set when its write could not be accepted at all (the visit vanished, the EHR refused it). */
  readonly refused?: string;
}

/** One callback per affected patient, whatever their number of visits. */
export interface ClosureCallback {
  readonly patientId: string;
  readonly operationId?: string;
  /** Why no callback could be queued (no phone number known for the patient). */
  readonly refused?: string;
  /** The callback window taken for the patient (closures without a window of their own). */
  readonly window?: CallbackWindow;
  /** Every callback window was full: the callback was queued without one. */
  readonly unscheduled?: true;
}

export interface ClosureRecord extends ClosureRequest {
  readonly id: string;
  readonly owner: OperationOwner;
  /** The submitting tenant's locations, when it is confined to some: its writes are confined too. */
  readonly tenantLocations: readonly string[] | undefined;
  /** sha256 of the request: a second submission under the same id must be the same closure. */
  readonly requestHash: string;
  readonly phase: ClosurePhase;
  readonly targets: readonly ClosureTarget[];
  readonly callbacks: readonly ClosureCallback[];
  /** Location display names, by id, for what patients are told. */
  readonly locationNames: Readonly<Record<string, string>>;
  /** Why finding failed or is being retried (no PHI). */
  readonly lastError: string | undefined;
  readonly findAttempts: number;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** When the first write was queued: the basis of the rate. */
  readonly queuingStartedAt: string | undefined;
}

/** What one patient is told about one closure: kept apart from the record, per patient, sealed. */
export interface PatientClosureEntry {
  readonly closureId: string;
  readonly tenant: string;
  readonly clientId: string;
  readonly action: ClosureAction;
  readonly newMode: 'video' | 'phone' | undefined;
  readonly visits: readonly Pick<
    ClosureTarget,
    'appointmentId' | 'start' | 'end' | 'location' | 'practitioner' | 'mode'
  >[];
  readonly callback: ClosureRequest['callback'];
  readonly createdAt: string;
}

export interface ClosureStore extends ClosedSites {
  /** Stores the record unless one with its id exists; returns the stored one either way. */
  create(record: ClosureRecord): Promise<{ readonly record: ClosureRecord; readonly created: boolean }>;
  get(id: string): Promise<ClosureRecord | undefined>;
  save(record: ClosureRecord): Promise<void>;
  /** A tenant's closures, newest first. */
  list(tenant: string, limit: number): Promise<readonly ClosureRecord[]>;
  /** The closure an Idempotency-Key of this client named, if any; remembers it otherwise. */
  claimKey(clientKey: string, closureId: string): Promise<string>;
  /** The closure an Idempotency-Key of this client named, if any, without claiming it. */
  keyedClosure(clientKey: string): Promise<string | undefined>;
  /**
   * Marks the closure stopped (kept apart from the record, so a runner's save cannot undo it) and
   * reopens its sites; returns when it was first stopped.
   */
  stop(id: string, at: string): Promise<string>;
  stoppedAt(id: string): Promise<string | undefined>;
  /** Files what the closure does to one patient's visits, for the patient's notices. */
  fileForPatient(connection: string, patientId: string, entry: PatientClosureEntry): Promise<void>;
  forPatient(connection: string, patientId: string): Promise<readonly PatientClosureEntry[]>;
}

/** Where and when a closure closes sites: no PHI, kept apart so slot searches can read it cheaply. */
export interface ClosureWindow {
  readonly closureId: string;
  readonly locations: readonly string[];
  readonly from: string;
  readonly to: string;
}

/** The closed sites of each connection: in-person visits there are neither offered nor booked. */
export interface ClosedSites {
  windows(connection: string): Promise<readonly ClosureWindow[]>;
}

/** The closure that closes this location at this instant, if any. */
export function closingWindow(
  windows: readonly ClosureWindow[],
  location: string | undefined,
  start: string | undefined,
): ClosureWindow | undefined {
  if (location === undefined || start === undefined) return undefined;
  const at = Date.parse(start);
  return windows.find(
    (w) => w.locations.includes(location) && at >= Date.parse(w.from) && at < Date.parse(w.to),
  );
}

/** Starts (or resumes) a closure's run in the background: a durable job, once per closure. */
export interface ClosureRuns {
  start(closureId: string): Promise<void>;
}

/** Closure ids: `clo_` and a digest of what makes a closure the same closure. */
export const CLOSURE_ID = /^clo_[a-f0-9]{24}$/;

/** The idempotency key of a closure's change to one visit: a re-run finds the write it queued. */
export function closureChangeKey(closureId: string, appointmentId: string): string {
  return `${closureId}:appointment:${appointmentId}`;
}

/** The idempotency key of a closure's one callback to one patient. */
export function closureCallbackKey(closureId: string, patientId: string): string {
  return `${closureId}:callback:${patientId}`;
}
