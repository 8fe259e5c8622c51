/**
 * How soon a write must reach the EHR. Decided once, when the write is accepted, and stored on the
 * operation: the drain serves lanes holding urgent writes first, and never reorders a lane.
 */
export const URGENCIES = ['urgent', 'routine'] as const;
export type Urgency = (typeof URGENCIES)[number];

export const URGENCY_REASONS = ['appointment-within-48h', 'callback-urgent', 'requested'] as const;
export type UrgencyReason = (typeof URGENCY_REASONS)[number];

/** An appointment starting within this much of now is tomorrow's work: its change cannot wait. */
export const URGENT_APPOINTMENT_WINDOW_MS = 48 * 3_600_000;
