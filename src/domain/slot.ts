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

/**
 * Where an EHR keeps a slot's service type, which decides how slots are searched by it. FHIR lets
 * either carry it, and a Slot's own overrides its Schedule's; many EHRs put it on the Schedule only.
 * - `slot`: on each Slot: one Slot search by `service-type`;
 * - `schedule`: on the Schedule only: its Schedules by `service-type`, then their Slots;
 * - `either`: both searches, a Slot's own service type winning over its Schedule's.
 */
export const SERVICE_TYPE_SEARCHES = ['slot', 'schedule', 'either'] as const;
export type ServiceTypeSearch = (typeof SERVICE_TYPE_SEARCHES)[number];
