import type { Resource } from '@medplum/fhirtypes';
import type { SearchRequest, SortRule } from '@medplum/core';
import { evalFhirPath, getSearchParameter, matchesSearchRequest } from '@medplum/core';
import { quickRejectFor } from './quick-reject';
import { isStringFilter, matchesString } from './string-search';

/**
 * Runs a prepared search over one type's stored resources and returns the requested page, uncloned.
 *
 * MemoryRepository.search deep-clones every match before cutting the page and sorts rule by rule (so the
 * last `_sort` key wins); with ~4,000 slots that cost more than the matching. Here only the page leaves,
 * multi-key sorts compare key by key, dates sort by instant, and string parameters follow FHIR semantics.
 */
export function searchResources(
  stored: Iterable<Resource>,
  request: SearchRequest,
): { readonly total: number; readonly page: Resource[] } {
  const filters = request.filters ?? [];
  const stringFilters = filters.filter((filter) => isStringFilter(request.resourceType, filter));
  const engineRequest: SearchRequest = {
    resourceType: request.resourceType,
    filters: filters.filter((filter) => !stringFilters.includes(filter)),
  };
  const quickRejects = (engineRequest.filters ?? []).flatMap((filter) => {
    const reject = quickRejectFor(request.resourceType, filter);
    return reject ? [reject] : [];
  });
  const matched: Resource[] = [];
  for (const resource of stored) {
    if (
      !quickRejects.some((reject) => reject(resource)) &&
      matchesSearchRequest(resource, engineRequest) &&
      stringFilters.every((filter) => matchesString(resource, filter))
    ) {
      matched.push(resource);
    }
  }
  const sorted = request.sortRules?.length ? sortResources(matched, request.sortRules) : matched;
  const offset = request.offset ?? 0;
  const end = request.count === undefined ? undefined : offset + request.count;
  return { total: matched.length, page: sorted.slice(offset, end) };
}

type SortKey = number | string | undefined;

function sortResources(resources: Resource[], rules: readonly SortRule[]): Resource[] {
  const keyed = resources.map((resource) => ({
    resource,
    keys: rules.map((rule) => sortKey(resource, rule)),
  }));
  keyed.sort((a, b) => {
    for (let i = 0; i < rules.length; i++) {
      const order = compareKeys(a.keys[i], b.keys[i]);
      if (order !== 0) {
        return rules[i]?.descending ? -order : order;
      }
    }
    return 0;
  });
  return keyed.map((item) => item.resource);
}

function sortKey(resource: Resource, rule: SortRule): SortKey {
  const param = getSearchParameter(resource.resourceType, rule.code);
  const first = param?.expression ? evalFhirPath(param.expression, resource)[0] : undefined;
  if (first === undefined || first === null) {
    return undefined;
  }
  if (param?.type === 'date') {
    const start = typeof first === 'object' ? (first as { start?: unknown }).start : first;
    const instant = typeof start === 'string' ? Date.parse(start) : Number.NaN;
    return Number.isNaN(instant) ? undefined : instant;
  }
  return (typeof first === 'string' ? first : JSON.stringify(first)).toLowerCase();
}

/** Missing values sort last, whatever the direction of the other values. */
function compareKeys(a: SortKey, b: SortKey): number {
  if (a === undefined || b === undefined) {
    return a === b ? 0 : a === undefined ? 1 : -1;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
