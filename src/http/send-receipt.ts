/**
 * How a write answers: 202 + Location while the operation is on its way; with `Prefer: wait=N`
 * and a quick EHR, the final receipt (201 when a resource was created, 200 otherwise: also when a
 * registration found the patient already in the EHR).
 */
import type { Request, Response } from 'express';
import { TERMINAL_STATUSES, toReceipt, type Operation } from '../domain/operation';
import type { AcceptedWrite } from '../use-cases/accept-write';
import type { UseCaseDeps } from '../use-cases/use-case-deps';
import { waitForFinal } from '../use-cases/wait-for-final';
import { expectedArrival, type ArrivalDeps } from '../use-cases/expected-arrival';
import { preferredWaitSeconds } from './prefer-wait';
import { preferredPriority } from './prefer-priority';
import { flatten } from './flat-shape';

/** Kinds whose success creates a resource in the EHR: their final receipt answers 201. */
const CREATES: ReadonlySet<Operation['kind']> = new Set([
  'patient.create',
  'appointment.book',
  'appointment.reschedule',
  'call.log',
  'callback.request',
]);

export async function sendReceipt(
  deps: Pick<UseCaseDeps, 'store' | 'finalSignals'> & ArrivalDeps,
  req: Request,
  res: Response,
  accepted: AcceptedWrite,
  /**
   * `extra`: fields a route answers beside the receipt. `flat`: the whole answer as `?shape=flat`
   * gives reads, for IVR flows that branch on a write's answer.
   */
  options: { readonly extra?: Readonly<Record<string, unknown>>; readonly flat?: boolean } = {},
): Promise<void> {
  const wait = preferredWaitSeconds(req);
  let op: Operation = accepted.operation;
  if (wait !== undefined && wait > 0) op = await waitForFinal(deps, op, wait);
  const final = TERMINAL_STATUSES.has(op.status);
  const created = op.status === 'succeeded' && CREATES.has(op.kind) && op.resourceExisted !== true;
  const status = !final ? 202 : created ? 201 : 200;
  res.location(`/v1/operations/${op.id}`);
  const priority = preferredPriority(req);
  const applied = [
    ...(wait !== undefined ? [`wait=${wait}`] : []),
    ...(priority !== undefined && accepted.created ? [`priority=${priority}`] : []),
  ];
  if (applied.length > 0) res.setHeader('Preference-Applied', applied.join(', '));
  if (!final) res.setHeader('Retry-After', '1');
  const expectedBy = await expectedArrival(deps, op);
  const body = {
    ...toReceipt(op, expectedBy),
    ...(accepted.created ? {} : { replayed: true }),
    ...options.extra,
  };
  res.status(status).json(options.flat === true ? flatten(body) : body);
}
