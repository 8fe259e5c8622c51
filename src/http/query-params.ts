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

export function optionalFhirIdParam(field: string, raw: string | undefined): string | undefined {
  return raw === undefined ? undefined : fhirIdParam(field, raw);
}

/** A date (`2026-12-01`, read as UTC midnight) or an ISO instant; undefined when absent. */
export function dateParam(field: string, raw: string | undefined): Date | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const value = /^\d{4}-\d{2}-\d{2}$/.test(raw) ? new Date(`${raw}T00:00:00Z`) : new Date(raw);
  if (Number.isNaN(value.getTime())) {
    throw validationError([{ field, message: 'must be a date (YYYY-MM-DD) or an ISO 8601 instant' }]);
  }
  return value;
}

export function intParam(
  field: string,
  raw: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw validationError([{ field, message: `must be a whole number from ${min} to ${max}` }]);
  }
  return value;
}
