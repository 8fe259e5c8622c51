/**
 * The FHIR R4 shapes the core needs. Types come from @medplum/fhirtypes (type-only: nothing of
 * Medplum runs in the core); this file narrows them to what ports exchange.
 */
import type {
  Appointment,
  Bundle,
  CapabilityStatement,
  CodeableConcept,
  Communication,
  Encounter,
  Location,
  OperationOutcome,
  Patient,
  Resource,
  Reference,
  Schedule,
  Slot,
  Task,
} from '@medplum/fhirtypes';

export type {
  Appointment,
  Bundle,
  CapabilityStatement,
  CodeableConcept,
  Communication,
  Encounter,
  Location,
  OperationOutcome,
  Patient,
  Reference,
  Resource,
  Schedule,
  Slot,
  Task,
};

/**
 * What FHIR allows as a resource id (up to 64 letters, digits, '-' and '.'), except `.` and `..`:
 * FHIR's pattern admits them, but in a URL they are dot segments, and `Patient/..` is the base.
 */
export const FHIR_ID = /^(?!\.{1,2}$)[A-Za-z0-9\-.]{1,64}$/;

/** `Patient/123` style reference; what logs and receipts carry instead of PHI. */
export type ResourceRef = `${string}/${string}`;

export function refOf(resource: { resourceType: string; id?: string | undefined }): ResourceRef {
  return `${resource.resourceType}/${resource.id ?? ''}`;
}
