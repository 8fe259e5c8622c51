/**
 * FHIR search values treat `,` as "or", `|` as system/code separator and `$` as a composite separator;
 * a literal one must be escaped with a backslash (https://hl7.org/fhir/R4/search.html#escaping).
 */
export function escapeFhirSearchValue(value: string): string {
  return value.replace(/[\\,|$]/g, (character) => `\\${character}`);
}

/** One search parameter value that matches any of the alternatives. */
export function fhirSearchAlternatives(values: readonly string[]): string {
  return values.map(escapeFhirSearchValue).join(',');
}
