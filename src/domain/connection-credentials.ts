/**
 * Whether an EHR accepts a connection's own credentials. A refusal (401/403 from the EHR, or its
 * token endpoint refusing the client) is an outage of the whole connection, shared by every process:
 * writes wait without spending attempts, reads come from the continuity cache, and an authenticated
 * probe tells when the credentials work again.
 *
 * Kept apart from the circuit breaker on purpose: the breaker opens after N failures and probes the
 * unauthenticated `/metadata`, which a server refusing the token still answers; one refusal is
 * enough here, and only an authenticated read proves recovery. An EHR can also be down and refuse
 * the credentials at once; each state clears on its own evidence.
 */
export type CredentialsState = 'accepted' | 'credentials-rejected';

export interface CredentialsSnapshot {
  readonly state: CredentialsState;
  /** When the refusal began (ISO), while rejected. */
  readonly since: string | undefined;
  /** The EHR's answer that began it (401, 403), when it was an HTTP answer. */
  readonly ehrStatus: number | undefined;
  /** When the authenticated probe last ran (ISO), while rejected. */
  readonly lastProbeAt: string | undefined;
}

/** An episode began (`credentials-rejected`) or ended (`accepted`), as seen by the one process that changed it. */
export type CredentialsTransition =
  | { readonly state: 'credentials-rejected'; readonly at: string; readonly ehrStatus: number | undefined }
  | { readonly state: 'accepted'; readonly at: string; readonly since: string };

/**
 * How a check of the credentials ended: `recovered`, this check ended an episode; `accepted`, none
 * was going on (or another process ended it); `still-rejected`; `not-due` (no probe needed now);
 * `unknown`, the EHR did not answer (down, slow), which says nothing about the credentials.
 */
export type CredentialsCheck = 'recovered' | 'accepted' | 'still-rejected' | 'not-due' | 'unknown';

export interface ConnectionCredentials {
  readonly connection: string;
  snapshot(): Promise<CredentialsSnapshot>;
  /** Hot-path check; re-read from Redis at most every few hundred milliseconds. False while rejected. */
  allowsRequests(): Promise<boolean>;
  /** The EHR refused the credentials: enters the state (once per episode across processes). */
  recordRejected(ehrStatus: number | undefined): Promise<void>;
  /**
   * While rejected and a probe is due (one process at a time), runs `check`, an authenticated read:
   * an answer ends the episode; a refusal keeps it; anything else (EHR down) proves nothing.
   */
  probeIfDue(check: () => Promise<unknown>): Promise<CredentialsCheck>;
  /**
   * Runs `check` now, due or not: what a reload of the credentials calls, so the connection does not
   * wait for the next periodic probe.
   */
  retryNow(check: () => Promise<unknown>): Promise<CredentialsCheck>;
}
