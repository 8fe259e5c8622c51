/**
 * The two ways a profile's read rule yields a model value: text (the first value, written out) and
 * a reference (the first Reference, kept as its id and display).
 */
import type { ReferenceModel } from '../domain/appointment';
import type { FhirPathExpression } from './fhirpath-expression';

export type Evaluate = (field: string, expression: FhirPathExpression, focus: unknown) => unknown[];

export function firstText(
  evaluate: Evaluate,
  field: string,
  expression: FhirPathExpression,
  focus: unknown,
): string | undefined {
  const value = evaluate(field, expression, focus)[0];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function firstReference(
  evaluate: Evaluate,
  field: string,
  expression: FhirPathExpression,
  focus: unknown,
): ReferenceModel | undefined {
  const value = evaluate(field, expression, focus)[0] as
    { reference?: unknown; display?: unknown } | undefined;
  const ref = typeof value?.reference === 'string' ? value.reference : undefined;
  const id = ref?.split('/').pop();
  if (id === undefined || id === '') return undefined;
  return typeof value?.display === 'string' ? { id, name: value.display } : { id };
}
