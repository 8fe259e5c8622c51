/**
 * A crisis activation: a crisis lead's declaration that something (a storm, an outage, a closure)
 * affects a tenant's sites for a while, with the message desks and self-service channels give
 * callers. Its text is operational, never about a patient, so it is kept and sent in the clear.
 */

export const ACTIVATION_KINDS = ['weather', 'outage', 'pandemic', 'closure', 'other'] as const;
export type ActivationKind = (typeof ACTIVATION_KINDS)[number];

export const ACTIVATION_STATUSES = ['scheduled', 'active', 'ended'] as const;
export type ActivationStatus = (typeof ACTIVATION_STATUSES)[number];

export interface Activation {
  /** `act_...` */
  readonly id: string;
  readonly tenant: string;
  readonly kind: ActivationKind;
  readonly title: string;
  /** FHIR Location ids; empty: every site of the tenant. */
  readonly locations: readonly string[];
  /** The EHR connection it concerns; undefined: every connection of the tenant. */
  readonly connection: string | undefined;
  readonly message: string;
  readonly startsAt: string;
  readonly endsAt: string | undefined;
  readonly createdAt: string;
  /** The client id of whoever declared it. */
  readonly createdBy: string;
  /** Set when someone ended it before (or instead of) `endsAt`. */
  readonly endedAt: string | undefined;
  readonly endedBy: string | undefined;
}

/** Derived, never stored: an activation moves from scheduled to active to ended with the clock alone. */
export function activationStatus(activation: Activation, now: Date): ActivationStatus {
  const at = now.getTime();
  if (activation.endedAt !== undefined) return 'ended';
  if (activation.endsAt !== undefined && Date.parse(activation.endsAt) <= at) return 'ended';
  if (Date.parse(activation.startsAt) > at) return 'scheduled';
  return 'active';
}

/** When it stopped applying: ended by hand, else its planned end once passed. */
export function activationEnd(activation: Activation): string | undefined {
  return activation.endedAt ?? activation.endsAt;
}

/**
 * Activations per tenant, shared by every process. A tenant's activations live under the tenant,
 * so one tenant can neither list nor end another's.
 */
export interface ActivationStore {
  /**
   * Stores a new activation. With `idempotencyKey`, a second create under the same key stores
   * nothing and returns the first activation's id.
   */
  create(
    activation: Activation,
    idempotencyKey?: string,
  ): Promise<{ readonly created: boolean; readonly id: string }>;
  list(tenant: string): Promise<readonly Activation[]>;
  get(tenant: string, id: string): Promise<Activation | undefined>;
  /**
   * Marks it ended now unless it already was: `changed` false when an earlier end (or another
   * process) got there first. Undefined when the tenant has no such activation.
   */
  end(
    tenant: string,
    id: string,
    at: string,
    by: string,
  ): Promise<{ readonly activation: Activation; readonly changed: boolean } | undefined>;
}
