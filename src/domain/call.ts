/** A call as the contact center logs it (POST /v1/calls), in the call-center model. */
export interface CallLog {
  readonly patientId: string | undefined;
  readonly direction: 'inbound' | 'outbound';
  /** ISO instants; `endedAt` is absent for a call still going on. */
  readonly startedAt: string;
  readonly endedAt: string | undefined;
  /** The agent: a display name, and the Practitioner id when the EHR knows the agent. */
  readonly agent: { readonly name: string; readonly practitionerId?: string | undefined } | undefined;
  /** Call-center reason from the profile's table (e.g. `appointment`). */
  readonly reason: string | undefined;
  /** How the call ended, from the profile's table (e.g. `resolved`). */
  readonly disposition: string | undefined;
  /** The agent's notes: free text, PHI, never logged. */
  readonly notes: string | undefined;
}

export const CALLBACK_PRIORITIES = ['routine', 'urgent', 'asap', 'stat'] as const;
export type CallbackPriority = (typeof CALLBACK_PRIORITIES)[number];

/** A callback the contact center owes a caller (POST /v1/callbacks). */
export interface CallbackRequest {
  readonly patientId: string | undefined;
  /** The number to call, E.164. */
  readonly phone: string;
  readonly windowStart: string | undefined;
  readonly windowEnd: string | undefined;
  readonly priority: CallbackPriority;
  readonly reason: string | undefined;
  readonly notes: string | undefined;
}
