/**
 * What an EHR connection supports, declared in its configuration; use cases choose their FHIR
 * interactions from it instead of assuming the most capable server.
 */
/** A phone search over several stored formats: one query with alternatives, or one query per format at once. */
export type PhoneSearchQuery = 'combined' | 'parallel';
/** `auto`: the faster of the two on this EHR, measured on its first searches. */
export type PhoneSearchMode = PhoneSearchQuery | 'auto';

export interface EhrCapabilities {
  /** `Patient?phone=` works. Without it, lookups rely on Continuum's phone index, confirmed by reads. */
  readonly phoneSearch: boolean;
  /** How the stored formats of a number are searched (see use-cases/phone-search-way.ts). */
  readonly phoneSearchQuery: PhoneSearchMode;
  /** `If-None-Exist` is honoured on create. Without it, creates search by identifier first. */
  readonly conditionalCreate: boolean;
  /** How changes are sent: a whole resource (`put`) or a JSON Patch (`patch`). */
  readonly update: 'put' | 'patch';
  /** The EHR refuses updates without `If-Match`: a resource read without a version cannot be changed. */
  readonly ifMatchRequired: boolean;
  /**
   * How slots are found and booked: FHIR Slot search plus Appointment create (`slots`). EHRs that
   * schedule through `Appointment/$find` and `$book` need an adapter of their own.
   */
  readonly scheduling: 'slots';
}

export const DEFAULT_CAPABILITIES: EhrCapabilities = {
  phoneSearch: true,
  phoneSearchQuery: 'combined',
  conditionalCreate: true,
  update: 'put',
  ifMatchRequired: false,
  scheduling: 'slots',
};
