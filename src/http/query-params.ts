/**
 * The path and query parameters routes share, checked the same way everywhere: an invalid one is
 * a 400 VALIDATION naming the parameter, never echoing its value.
 */
import { validationError } from '../domain/errors';
import { FHIR_ID } from '../domain/fhir';

/** A query value as one string (express gives arrays for repeated keys); undefined when absent or blank. */
export function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

export function fhirIdParam(field: string, raw: unknown): string {
  if (typeof raw !== 'string' || !FHIR_ID.test(raw)) {
    throw validationError([{ field, message: 'is not a valid FHIR id' }]);
  }
  return raw;
}
