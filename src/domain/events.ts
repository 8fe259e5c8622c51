/**
 * What call-center tools hear from Continuum: changes in the EHR and the fate of their own writes.
 * `data` carries references and the least detail a desk needs to refresh (ids, statuses, times),
 * never PHI: a subscriber that needs more reads it through the API.
 */
export const EVENT_TYPES = [
  'appointment.booked',
  'appointment.cancelled',
  'appointment.rescheduled',
  'patient.updated',
  'operation.succeeded',
  'operation.failed',
  'operation.needs-review',
  'ehr.unavailable',
  'ehr.recovered',
  'ehr.credentials-rejected',
  'callback.requested',
  'patient.verification-held',
  'abuse.suspected',
  'crisis.activated',
  'crisis.ended',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface CallCenterEvent {
  /** Unique per event; the Standard Webhooks `webhook-id`, stable across redeliveries. */
  readonly id: string;
  readonly type: EventType;
  readonly timestamp: string;
  readonly data: Readonly<Record<string, string | number | boolean | null>>;
  /**
   * The tenant whose write the event is about: only that tenant's subscribers hear it. Absent for
   * what happens at an EHR connection (its changes, its breaker): every tenant using it hears those.
   * Never sent to subscribers.
   */
  readonly tenant?: string;
}
