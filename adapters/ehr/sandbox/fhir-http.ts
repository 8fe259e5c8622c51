import type { Request, Response } from 'express';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, getStatus } from '@medplum/core';

export const FHIR_JSON = 'application/fhir+json';
/** Body types the router parses as JSON: FHIR's own, plain JSON (many clients send it) and JSON Patch. */
export const JSON_BODY_TYPES = [FHIR_JSON, 'application/json', 'application/json-patch+json'];

/**
 * The absolute base of the FHIR API as the client reached it (scheme, Host header, mount path), so links
 * and `Location` are right both under the gateway's `/sandbox/fhir` and in the stand-alone server.
 */
export function fhirBaseUrl(req: Request): string {
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;
}

export function outcome(
  code: OperationOutcomeIssue['code'],
  text: string,
  expression?: string,
): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    issue: [
      { severity: 'error', code, details: { text }, ...(expression ? { expression: [expression] } : {}) },
    ],
  };
}

/**
 * Written with `res.end`, not `res.send`: express would add its own body-hash ETag to bundles and
 * OperationOutcomes, which a FHIR client could mistake for a resource version.
 */
export function sendJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', `${FHIR_JSON}; charset=utf-8`);
  res.end(JSON.stringify(body));
}

export function sendOutcome(res: Response, result: OperationOutcome, status = getStatus(result)): void {
  sendJson(res, status, result);
}

/** `W/"<versionId>"`, the weak ETag form the FHIR spec prescribes. */
export function etagOf(resource: Resource): string | undefined {
  const versionId = resource.meta?.versionId;
  return versionId === undefined ? undefined : `W/"${versionId}"`;
}

/**
 * A single-resource answer with the headers a FHIR client relies on (ETag for If-Match, Last-Modified,
 * Location on create) and the `Prefer: return=` choices of the spec.
 */
export function sendResource(
  req: Request,
  res: Response,
  status: number,
  resource: Resource,
  result: OperationOutcome,
): void {
  const etag = etagOf(resource);
  if (etag) {
    res.set('ETag', etag);
  }
  const lastUpdated = resource.meta?.lastUpdated;
  if (lastUpdated) {
    res.set('Last-Modified', new Date(lastUpdated).toUTCString());
  }
  if (status === 201 && resource.id) {
    const version = resource.meta?.versionId ? `/_history/${resource.meta.versionId}` : '';
    res.set('Location', `${fhirBaseUrl(req)}/${resource.resourceType}/${resource.id}${version}`);
  }
  const prefer = req.get('prefer') ?? '';
  if (/return=minimal/i.test(prefer)) {
    res.status(status).end();
  } else if (/return=OperationOutcome/i.test(prefer)) {
    sendJson(res, status, result);
  } else {
    sendJson(res, status, resource);
  }
}

/** The version an `If-Match` header asks for: `W/"3"`, `"3"` and a bare `3` are all accepted. */
export function ifMatchVersion(req: Request): string | undefined {
  const header = req.get('if-match')?.trim();
  if (!header) {
    return undefined;
  }
  const quoted = /^(?:W\/)?"([^"]*)"$/.exec(header);
  return quoted ? quoted[1] : header;
}

/** An answer whose status Medplum's outcome-to-status table cannot express (405, 413, 415). */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly outcome: OperationOutcome,
  ) {
    super(outcome.issue[0]?.details?.text ?? `HTTP ${status}`);
  }
}

/**
 * Status and OperationOutcome for a thrown error. Anything that is not an OperationOutcomeError or an
 * HttpProblem is a bug in the sandbox, answered 500 (Medplum's own normaliser would call it a 400).
 */
export function problemOf(err: unknown): { status: number; outcome: OperationOutcome; unexpected: boolean } {
  if (err instanceof HttpProblem) {
    return { status: err.status, outcome: err.outcome, unexpected: false };
  }
  if (err instanceof OperationOutcomeError) {
    return { status: getStatus(err.outcome), outcome: err.outcome, unexpected: false };
  }
  return {
    status: 500,
    outcome: outcome('exception', 'Internal error in the sandbox EHR'),
    unexpected: true,
  };
}
