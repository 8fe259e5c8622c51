/**
 * Records every request to a PHI route in the audit trail before it is answered. The handler runs
 * as usual; when it sends, the answer is held until its record is stored, then released. If the
 * record cannot be stored, an answer that would show PHI is replaced by 503: a read the trail
 * cannot show is not served, so the trail has no holes where data was disclosed. The record is built from the route, its parameters, the
 * request and the answer: references only (patient and resource ids, operation ids, a keyed hash
 * of a searched number), never the answer's content.
 */
import type { Request, RequestHandler, Response } from 'express';
import type { AuditOutcome, AuditTrail, NewAuditRecord } from '../domain/audit';
import { ContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';
import { AUDITED_ROUTES, type AuditSpec } from './audit-routes';
import { callerOf } from './caller';
import { sendProblem } from './problem';
import { matchedRouteOf } from './matched-route';
import { routeKey, type RouteSpec } from './route-table';

export interface AuditTrailDeps {
  readonly trail: AuditTrail;
  /** Keyed hash for what was searched (a phone number). */
  readonly blind: (value: string) => string;
  readonly logger: Logger;
  readonly clock: { now(): Date };
}

/** Who at the desk: `X-Agent-Id`, else the body's `agentName`; printable, 128 characters at most. */
export function humanAgentOf(req: Request): string | undefined {
  const header = req.get('x-agent-id');
  const body = req.body as { agentName?: unknown } | undefined;
  const named = header ?? (typeof body?.agentName === 'string' ? body.agentName : undefined);
  if (named === undefined) return undefined;
  const clean = named.trim();
  return clean.length > 0 && clean.length <= 128 && /^[\p{L}\p{N}\p{P}\p{Zs}]+$/u.test(clean)
    ? clean
    : undefined;
}

function stringAt(value: unknown, key: string): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const found = (value as Record<string, unknown>)[key];
  return typeof found === 'string' ? found : undefined;
}

function arrayAt(value: unknown, key: string): readonly unknown[] {
  if (typeof value !== 'object' || value === null) return [];
  const found = (value as Record<string, unknown>)[key];
  return Array.isArray(found) ? found : [];
}

function decoded(raw: unknown): string | undefined {
  if (typeof raw !== 'string') return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

/**
 * Patients an answer concerns without naming them (a failed verification was against someone):
 * noted by the route for the record, never sent.
 */
export function noteAuditPatients(res: Response, patientIds: readonly string[]): void {
  res.locals.auditPatients = patientIds;
}

/** Records other than patients an answer concerns (the workbench's Appointment or Slot), for the record. */
export function noteAuditResources(res: Response, references: readonly string[]): void {
  res.locals.auditResources = references;
}

/** Entries of a list answer referenced one by one at most; a longer list is recorded as its first ones. */
const MAX_LISTED = 100;

interface Entities {
  readonly patients: Set<string>;
  readonly resources: Set<string>;
  operation: string | undefined;
}

function collect(
  path: string,
  params: Readonly<Record<string, unknown>>,
  req: Request,
  answer: unknown,
  noted: readonly string[],
  notedResources: readonly string[] = [],
): Entities {
  const found: Entities = { patients: new Set(), resources: new Set(), operation: undefined };
  const addPatient = (id: string | undefined): void => {
    if (id === undefined || id === '') return;
    found.patients.add(id.startsWith('Patient/') ? id : `Patient/${id}`);
  };
  const addResource = (ref: string | undefined): void => {
    if (ref === undefined || ref === '') return;
    if (ref.startsWith('Patient/')) found.patients.add(ref);
    else found.resources.add(ref);
  };
  const id = decoded(params.id);
  if (path.startsWith('/v1/patients/:id')) addPatient(id);
  if (path.startsWith('/v1/appointments/:id')) addResource(id && `Appointment/${id}`);
  if (path.startsWith('/v1/operations/:id')) found.operation = id;
  addPatient(stringAt(req.body, 'patientId'));
  for (const id of noted.slice(0, MAX_LISTED)) addPatient(id);
  for (const ref of notedResources.slice(0, MAX_LISTED)) addResource(ref);
  if (typeof req.query.patient === 'string') addPatient(req.query.patient);
  // The answer says which records were disclosed or changed.
  addPatient(stringAt(answer, 'patientId'));
  addResource(stringAt(answer, 'resourceRef'));
  found.operation ??= stringAt(answer, 'operationId');
  for (const match of arrayAt(answer, 'matches').slice(0, MAX_LISTED)) addPatient(stringAt(match, 'id'));
  for (const id of (arrayAt(answer, 'matchIds') as unknown[]).slice(0, MAX_LISTED))
    addPatient(typeof id === 'string' ? id : undefined);
  for (const op of arrayAt(answer, 'operations').slice(0, MAX_LISTED)) {
    addPatient(stringAt(op, 'patientId'));
  }
  for (const appointment of arrayAt(answer, 'appointments').slice(0, MAX_LISTED)) {
    addResource(stringAt(appointment, 'id') && `Appointment/${stringAt(appointment, 'id')}`);
  }
  return found;
}

function outcomeOf(status: number, answer: unknown): AuditOutcome {
  if (status >= 500) return 8;
  if (status >= 400) return 4;
  // A wrong identity answer is served with 200: it is still a failed verification.
  if (typeof answer === 'object' && answer !== null && (answer as { verified?: unknown }).verified === false)
    return 4;
  return 0;
}

/**
 * An answer that shows PHI: a read, a search, a verification, served. Only these are refused when
 * their record cannot be stored; a refusal shows nothing, and a write's answer reports an act.
 */
function disclosesRecord(spec: AuditSpec, status: number): boolean {
  if (status >= 400) return false;
  return spec.action === 'R' || spec.subtype === 'search-type' || spec.kind === 'patient.verify';
}

export function auditTrail(deps: AuditTrailDeps): RequestHandler {
  return (req, res, next) => {
    const resolved = matchedRouteOf(res);
    const spec = resolved === undefined ? undefined : AUDITED_ROUTES[routeKey(resolved.spec)];
    if (resolved === undefined || spec === undefined || spec === 'not-phi') {
      next();
      return;
    }
    holdAnswerUntilRecorded(deps, req, res, { spec, route: resolved.spec, params: resolved.params });
    next();
  };
}

/** The route a request matched, what it records, and the path's parameters. */
interface AuditedRoute {
  readonly spec: AuditSpec;
  readonly route: RouteSpec;
  readonly params: Readonly<Record<string, unknown>>;
}

function holdAnswerUntilRecorded(
  deps: AuditTrailDeps,
  req: Request,
  res: Response,
  audited: AuditedRoute,
): void {
  const { spec } = audited;
  const json = res.json.bind(res);
  const send = res.send.bind(res);
  let answer: unknown;
  let held = false;
  res.json = (body: unknown) => {
    answer = body;
    return json(body);
  };
  res.send = (body?: unknown) => {
    if (held) return send(body);
    held = true;
    const record = recordOf(deps, req, res, audited, answer);
    deps.trail.append(record).then(
      () => {
        send(body);
      },
      (error: unknown) => {
        const log = (res.locals.logger as Logger | undefined) ?? deps.logger;
        if (!disclosesRecord(spec, res.statusCode)) {
          // A refusal discloses nothing, and a write already taken must not be answered as if it
          // were not (the client would move on and the write land anyway): its effect on the EHR
          // is recorded when a worker applies it.
          log.error({ err: error, kind: spec.kind }, 'audit record not stored; the answer stands');
          send(body);
          return;
        }
        log.error({ err: error, kind: spec.kind }, 'access refused: its audit record could not be stored');
        for (const header of ['Location', 'Content-Location', 'Preference-Applied', 'Retry-After'])
          res.removeHeader(header);
        sendProblem(
          res,
          new ContinuumError('NOT_READY', {
            detail: 'the audit trail cannot record this access right now, so it was not served',
            retryAfterSeconds: 2,
          }),
        );
      },
    );
    return res;
  };
}

function recordOf(
  deps: AuditTrailDeps,
  req: Request,
  res: Response,
  { spec, route, params }: AuditedRoute,
  answer: unknown,
): NewAuditRecord {
  const { principal } = callerOf(res);
  const noted = (res.locals.auditPatients as readonly string[] | undefined) ?? [];
  const notedResources = (res.locals.auditResources as readonly string[] | undefined) ?? [];
  const entities = collect(route.path, params, req, answer, noted, notedResources);
  const connection = typeof req.query.connection === 'string' ? req.query.connection : undefined;
  const agent = humanAgentOf(req);
  const phone = typeof req.query.phone === 'string' ? req.query.phone.replace(/\D/g, '') : '';
  const requestId = res.locals.requestId as string | undefined;
  return {
    recorded: deps.clock.now().toISOString(),
    kind: spec.kind,
    subtype: spec.subtype,
    action: spec.action,
    outcome: outcomeOf(res.statusCode, answer),
    result: String(res.statusCode),
    channel: 'api',
    client: principal.clientId,
    tenant: principal.tenant,
    ...(agent !== undefined ? { agent } : {}),
    ...(connection !== undefined && /^[\w.-]{1,64}$/.test(connection) ? { connection } : {}),
    ...(entities.patients.size > 0 ? { patients: [...entities.patients] } : {}),
    ...(entities.resources.size > 0 ? { resources: [...entities.resources] } : {}),
    ...(entities.operation !== undefined ? { operation: entities.operation } : {}),
    ...(phone !== '' ? { query: deps.blind(`audit-phone\n${phone}`) } : {}),
    ...(requestId !== undefined ? { requestId } : {}),
    route: routeKey(route),
  };
}
