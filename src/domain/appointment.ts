/** The call-center model of an appointment: what agents' tools and IVRs read and book. */

/** How the visit happens. FHIR R4 has no element for it; each mapping profile says where it lives. */
export type AppointmentMode = 'in-person' | 'video' | 'phone';

export interface ReferenceModel {
  /** The FHIR id of the practitioner, location or patient. */
  readonly id: string;
  /** The EHR's display text for it, when it gives one. */
  readonly name?: string;
}

export interface AppointmentModel {
  readonly id: string;
  /** The EHR's version of the record (FHIR meta.versionId). */
  readonly version: string | undefined;
  /** FHIR Appointment.status: proposed, pending, booked, arrived, fulfilled, cancelled, noshow, ... */
  readonly status: string;
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly patientId: string | undefined;
  /** The Slot the appointment takes, when the EHR links one. */
  readonly slotId: string | undefined;
  readonly practitioner: ReferenceModel | undefined;
  readonly location: ReferenceModel | undefined;
  readonly mode: AppointmentMode;
  /** Call-center value from the profile's appointment-type table (e.g. `routine`, `follow-up`). */
  readonly appointmentType: string | undefined;
  readonly serviceType: string | undefined;
  readonly reason: string | undefined;
  /** Call-center value from the profile's cancellation-reason table, for cancelled appointments. */
  readonly cancellationReason: string | undefined;
  /**
   * Set while a write for this appointment waits in Continuum's queue: a booking not yet in the
   * EHR (its id is then the operation id) or a change to this one.
   */
  readonly pending?: { readonly operationId: string; readonly kind: string; readonly status: string };
}

export const APPOINTMENT_MODES: readonly AppointmentMode[] = ['in-person', 'video', 'phone'];

/** The modes a visit can be turned into without a site: what a closure converts to. */
export type VirtualMode = Exclude<AppointmentMode, 'in-person'>;

export const VIRTUAL_MODES: readonly VirtualMode[] = ['video', 'phone'];
