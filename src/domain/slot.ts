import type { AppointmentMode, ReferenceModel } from './appointment';

/** A bookable time in the call-center model: when, with whom, where. */
export interface SlotModel {
  readonly id: string;
  /** The EHR's version of the Slot; a booking marks it busy against this version. */
  readonly version: string | undefined;
  /** FHIR Slot.status: free, busy, busy-unavailable, busy-tentative, entered-in-error. */
  readonly status: string;
  readonly start: string | undefined;
  readonly end: string | undefined;
  readonly scheduleId: string | undefined;
  readonly serviceType: string | undefined;
  readonly practitioner: ReferenceModel | undefined;
  readonly location: ReferenceModel | undefined;
  /** How a visit in this slot may happen; every mode when the EHR does not say. */
  readonly modes: readonly AppointmentMode[];
}
