import type { Request } from 'express';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, badRequest, parseSearchRequest } from '@medplum/core';
import type { SandboxRepository } from './sandbox-repository';
import { resolveIncludes } from './include';
import type { QueryParams } from './paging';
import { pageLinks } from './paging';
import { DEFAULT_PAGE_SIZE, prepareSearchRequest } from './search-rules';

/**
 * Type-level search (`GET /Type?...`, `POST /Type/_search`) answered as a real server would: a searchset with
 * `total`, absolute `fullUrl`s, paging links and `_include`d resources. Handled here rather than by the
 * FhirRouter's own search route because the router returns the engine's bare Bundle, without any of those.
 */
export async function searchType(
  repo: SandboxRepository,
  req: Request,
  resourceType: string,
  baseUrl: string,
): Promise<Bundle> {
  const params = searchParamsOf(req);
  const request = prepareSearchRequest(parseSearchRequest(resourceType, groupParams(params)));
  const result = await repo.search(request);
  const matches = (result.entry ?? []).flatMap((entry) => (entry.resource ? [entry.resource] : []));
  const included = await resolveIncludes(repo, request.include, matches);
  const total = result.total ?? matches.length;
  const entry = [
    ...matches.map((resource) => searchEntry(baseUrl, resource, 'match')),
    ...included.map((resource) => searchEntry(baseUrl, resource, 'include')),
  ];
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: pageLinks(`${baseUrl}/${resourceType}`, params, {
      count: request.count ?? DEFAULT_PAGE_SIZE,
      offset: request.offset ?? 0,
      total,
    }),
    ...(entry.length > 0 ? { entry } : {}),
  };
}

function searchEntry(baseUrl: string, resource: Resource, mode: 'match' | 'include'): BundleEntry {
  return { fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`, resource, search: { mode } };
}

/** Query-string parameters, plus the form body of a `POST _search` (the spec allows both at once). */
function searchParamsOf(req: Request): QueryParams {
  const queryIndex = req.url.indexOf('?');
  const params: [string, string][] =
    queryIndex < 0 ? [] : [...new URLSearchParams(req.url.slice(queryIndex + 1))];
  if (req.method === 'POST' && req.body !== undefined) {
    if (!req.is('application/x-www-form-urlencoded')) {
      throw new OperationOutcomeError(
        badRequest('POST _search takes an application/x-www-form-urlencoded body'),
      );
    }
    for (const [name, value] of Object.entries(req.body as Record<string, string | string[]>)) {
      for (const one of Array.isArray(value) ? value : [value]) {
        params.push([name, one]);
      }
    }
  }
  return params;
}

function groupParams(params: QueryParams): Record<string, string[]> {
  const grouped: Record<string, string[]> = {};
  for (const [name, value] of params) {
    (grouped[name] ??= []).push(value);
  }
  return grouped;
}
