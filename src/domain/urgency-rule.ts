/**
 * The urgency rule: which writes are urgent, decided once at acceptance from what acceptance knows.
 */
import type { OperationPayload } from './operation';
import type { Urgency, UrgencyReason } from './urgency';
import { URGENT_APPOINTMENT_WINDOW_MS } from './urgency';

export interface UrgencyDecision {
  readonly urgency: Urgency;
  readonly reason: UrgencyReason | undefined;
}

export const ROUTINE: UrgencyDecision = { urgency: 'routine', reason: undefined };

export interface UrgencyFacts {
  readonly payload: OperationPayload;
  /**
   * Starts of the appointments the write cancels or moves (ISO instants), as far as acceptance
   * knows them; the start of a slot being booked is read from the payload.
   */
  readonly appointmentStarts: readonly (string | undefined)[];
  /** What the caller asked for with `Prefer: priority=`, already checked against its scopes. */
  readonly requested: Urgency | undefined;
  readonly now: Date;
}

const APPOINTMENT_CHANGES: ReadonlySet<OperationPayload['kind']> = new Set([
  'appointment.book',
  'appointment.cancel',
  'appointment.reschedule',
  'appointment.convert',
  'appointment.hold',
]);

function slotStartOf(payload: OperationPayload): string | undefined {
  if (payload.kind === 'appointment.book') return payload.slot?.start;
  if (payload.kind === 'appointment.reschedule') return payload.booking.slot?.start;
  return undefined;
}

/** True when an appointment at `start` begins between now and the end of the urgent window. */
export function startsWithinWindow(start: string | undefined, now: Date): boolean {
  if (start === undefined) return false;
  const at = Date.parse(start);
  if (Number.isNaN(at)) return false;
  const ahead = at - now.getTime();
  // One already begun is past helping by a change in the queue: it stays routine.
  return ahead >= 0 && ahead <= URGENT_APPOINTMENT_WINDOW_MS;
}

/**
 * The rule. An explicit request wins either way: a supervisor's `urgent`, or `routine` from a tool
 * that re-imports bookings in bulk and must not push ahead of live calls. Otherwise a callback whose
 * priority is above routine, and a booking, cancellation, reschedule, conversion or hold of an
 * appointment within the window, are urgent. A start acceptance could not learn counts as outside the window.
 */
export function decideUrgency(facts: UrgencyFacts): UrgencyDecision {
  if (facts.requested === 'urgent') return { urgency: 'urgent', reason: 'requested' };
  if (facts.requested === 'routine') return ROUTINE;
  const { payload } = facts;
  if (payload.kind === 'callback.request' && payload.callback.priority !== 'routine') {
    return { urgency: 'urgent', reason: 'callback-urgent' };
  }
  if (
    APPOINTMENT_CHANGES.has(payload.kind) &&
    [slotStartOf(payload), ...facts.appointmentStarts].some((start) => startsWithinWindow(start, facts.now))
  ) {
    return { urgency: 'urgent', reason: 'appointment-within-48h' };
  }
  return ROUTINE;
}
