import type { Request, RequestHandler, Response } from 'express';
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, badRequest, getStatus, isOk, preconditionFailed } from '@medplum/core';
import type { FhirRequest, FhirRouter, HttpMethod } from '@medplum/fhir-router';
import type { IncomingHttpHeaders } from 'node:http';
import { SANDBOX_RESOURCE_TYPES } from './capability-statement';
import {
  HttpProblem,
  etagOf,
  fhirBaseUrl,
  ifMatchVersion,
  outcome,
  problemOf,
  sendJson,
  sendOutcome,
  sendResource,
} from './fhir-http';
import type { SandboxRepository } from './sandbox-repository';
import { searchType } from './search-handler';
import type { SerialExecutor } from './serial-executor';
import type { SandboxLogger } from './types';

export interface FhirHandlerContext {
  readonly repo: SandboxRepository;
  readonly engine: FhirRouter;
  readonly executor: SerialExecutor;
  readonly logger?: SandboxLogger | undefined;
}

const METHODS: readonly HttpMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const SUPPORTED_TYPES: ReadonlySet<string> = new Set(SANDBOX_RESOURCE_TYPES);

/**
 * Turns each HTTP request into a FhirRequest for Medplum's FhirRouter and its answer back into HTTP, adding
 * what the router leaves out: content-type checks, If-Match on PATCH, absolute URLs, ETag/Location headers
 * and searchset paging. Requests run one at a time (see SerialExecutor).
 */
export function createFhirHandler(context: FhirHandlerContext): RequestHandler {
  return async (req, res) => {
    await context.executor.run(async () => {
      try {
        await handle(context, req, res);
      } catch (err) {
        const problem = problemOf(err);
        if (problem.unexpected) {
          context.logger?.warn(
            { method: req.method, path: req.path, error: err instanceof Error ? err.message : String(err) },
            'sandbox EHR request failed',
          );
        }
        sendOutcome(res, problem.outcome, problem.status);
      }
    });
  };
}

async function handle(context: FhirHandlerContext, req: Request, res: Response): Promise<void> {
  const method = req.method === 'HEAD' ? 'GET' : req.method;
  if (!isHttpMethod(method)) {
    throw new HttpProblem(405, outcome('not-supported', `Method not allowed: ${req.method}`));
  }
  const url = req.url.replace(/^\/+/, '');
  const route = context.engine.find(method, url);
  const resourceType = url.split(/[/?]/)[0] ?? '';
  if (!route) {
    throw new HttpProblem(
      404,
      outcome('not-found', `No FHIR interaction for ${method} /${url.split('?')[0] ?? ''}`),
    );
  }
  if (resourceType !== '' && !SUPPORTED_TYPES.has(resourceType)) {
    throw new OperationOutcomeError(
      badRequest(`Resource type not supported by this server: ${resourceType}`),
    );
  }
  const baseUrl = fhirBaseUrl(req);
  const interaction = route.data?.interaction;
  if (interaction === 'search-type') {
    sendJson(res, 200, await searchType(context.repo, req, resourceType, baseUrl));
    return;
  }
  if (interaction === 'search-system' || interaction === 'operation' || interaction === undefined) {
    throw new OperationOutcomeError(
      badRequest(`Not supported by this server: ${method} /${url.split('?')[0] ?? ''}`),
    );
  }
  checkBody(req, method);
  if (method === 'PATCH' && route.params.id !== undefined) {
    await checkPatchVersion(context.repo, req, resourceType, route.params.id);
  }
  const request: FhirRequest = {
    method,
    url,
    pathname: '',
    params: {},
    query: {},
    body: req.body as unknown,
    headers: engineHeaders(req),
    config: { transactions: true },
  };
  const [result, resource] = await context.engine.handleRequest(request, context.repo);
  const status = getStatus(result);
  if (!isOk(result) || resource === undefined) {
    sendOutcome(res, result, status);
  } else if (interaction === 'batch' && resource.resourceType === 'Bundle') {
    sendJson(res, status, withBatchUrls(resource, baseUrl));
  } else if (interaction === 'history-instance' && resource.resourceType === 'Bundle') {
    sendJson(res, status, withHistoryUrls(resource, baseUrl));
  } else {
    sendResource(req, res, status, resource, result);
  }
}

function isHttpMethod(method: string): method is HttpMethod {
  return (METHODS as readonly string[]).includes(method);
}

/** Real servers refuse a write whose body they cannot read as FHIR JSON (or JSON Patch) with 4xx. */
function checkBody(req: Request, method: HttpMethod): void {
  if (method !== 'POST' && method !== 'PUT' && method !== 'PATCH') {
    return;
  }
  const accepted =
    method === 'PATCH' ? ['application/json-patch+json'] : ['application/fhir+json', 'application/json'];
  const match = req.is(accepted);
  if (match === false) {
    throw unsupportedMediaType(`${method} takes ${accepted.join(' or ')}`);
  }
  if (match === null || req.body === undefined) {
    throw new OperationOutcomeError(badRequest('Missing request body'));
  }
}

function unsupportedMediaType(text: string): HttpProblem {
  return new HttpProblem(415, outcome('not-supported', text));
}

/** The router's PATCH ignores If-Match; a real server checks it, and Oracle Health even requires it. */
async function checkPatchVersion(
  repo: SandboxRepository,
  req: Request,
  type: string,
  id: string,
): Promise<void> {
  const wanted = ifMatchVersion(req);
  if (wanted === undefined) {
    return;
  }
  const current = await repo.readResource(type, id);
  if (current.meta?.versionId !== wanted) {
    throw new OperationOutcomeError(preconditionFailed);
  }
}

/** The router reads `If-Match` only in its quoted form; a bare version is accepted by real servers too. */
function engineHeaders(req: Request): IncomingHttpHeaders {
  const headers = { ...req.headers };
  const version = ifMatchVersion(req);
  if (version !== undefined) {
    headers['if-match'] = `W/"${version}"`;
  }
  return headers;
}

function withBatchUrls(bundle: Bundle, baseUrl: string): Bundle {
  const entry = bundle.entry?.map((item): BundleEntry => {
    const resource = item.resource;
    if (!resource?.id || !item.response) {
      return item;
    }
    const versionId = resource.meta?.versionId;
    return {
      fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id}`,
      ...item,
      response: {
        ...item.response,
        location: `${resource.resourceType}/${resource.id}${versionId ? `/_history/${versionId}` : ''}`,
        etag: etagOf(resource),
        lastModified: resource.meta?.lastUpdated,
      },
    };
  });
  return { ...bundle, ...(entry ? { entry } : {}) };
}

/** History entries as the spec wants them: newest first, each with fullUrl, request and response. */
function withHistoryUrls(bundle: Bundle, baseUrl: string): Bundle {
  const entries = bundle.entry ?? [];
  const entry = entries.map((item, index): BundleEntry => {
    const resource = item.resource as Resource;
    const first = index === entries.length - 1;
    return {
      fullUrl: `${baseUrl}/${resource.resourceType}/${resource.id ?? ''}`,
      resource,
      request: first
        ? { method: 'POST', url: resource.resourceType }
        : { method: 'PUT', url: `${resource.resourceType}/${resource.id ?? ''}` },
      response: {
        status: first ? '201' : '200',
        etag: etagOf(resource),
        lastModified: resource.meta?.lastUpdated,
      },
    };
  });
  return { ...bundle, total: entry.length, ...(entry.length > 0 ? { entry } : {}) };
}
