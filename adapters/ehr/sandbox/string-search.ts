import type { Resource } from '@medplum/fhirtypes';
import type { Filter } from '@medplum/core';
import { Operator, evalFhirPath, getSearchParameter } from '@medplum/core';

/** String-parameter operators this module handles; `:missing` and the rest stay with the engine. */
const STRING_OPERATORS = new Set<string>([Operator.EQUALS, Operator.EXACT, Operator.CONTAINS]);

/**
 * True for a filter on a string parameter (`family`, `given`, `name`, `address-city`, ...) that
 * `matchesString` should decide. The in-memory engine matches those as case-insensitive *contains* and
 * ignores `:exact`; FHIR (and real EHRs) match the start of the value, ignoring case and accents, with
 * `:exact` and `:contains` as the explicit alternatives. So `family=Smith` must not find "Goldsmith".
 */
export function isStringFilter(resourceType: string, filter: Filter): boolean {
  return (
    STRING_OPERATORS.has(filter.operator) && getSearchParameter(resourceType, filter.code)?.type === 'string'
  );
}

export function matchesString(resource: Resource, filter: Filter): boolean {
  const expression = getSearchParameter(resource.resourceType, filter.code)?.expression;
  if (!expression) {
    return false;
  }
  const values = evalFhirPath(expression, resource).flatMap(textsOf);
  const wanted = filter.value.split(',');
  return wanted.some((query) =>
    values.some((value) => {
      switch (filter.operator) {
        case Operator.EXACT:
          return value === query;
        case Operator.CONTAINS:
          return fold(value).includes(fold(query));
        default:
          return fold(value).startsWith(fold(query));
      }
    }),
  );
}

/** The strings a value offers to a string search: itself, or every text part of a HumanName/Address. */
function textsOf(value: unknown): string[] {
  if (typeof value === 'string') {
    return [value];
  }
  if (Array.isArray(value)) {
    return value.flatMap(textsOf);
  }
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value)
      .filter(([key]) => key !== 'use' && key !== 'type' && key !== 'period' && key !== 'extension')
      .flatMap(([, part]) => textsOf(part));
  }
  return [];
}

function fold(text: string): string {
  return text
    .normalize('NFD')
    .replace(/\p{Diacritic}/gu, '')
    .toLowerCase();
}
