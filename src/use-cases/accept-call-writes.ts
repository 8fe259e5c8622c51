/**
 * POST /v1/calls and /v1/callbacks: both are durable writes like the rest, on the patient's lane
 * when the caller was identified, else on a lane of their own. Logging a call must never be lost
 * to an outage: it is what the clinic later reads to know the patient called.
 */
import type { CallbackRequest, CallLog } from '../domain/call';
import { acceptWrite, findExistingWrite, type AcceptedWrite, type WriteContext } from './accept-write';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

type Deps = Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'logger' | 'enqueueTimeoutMs'>;

export async function acceptCallLog(
  deps: Deps,
  connection: ConnectionContext,
  context: WriteContext,
  call: CallLog,
): Promise<AcceptedWrite> {
  const request = { kind: 'call.log', connection: connection.name, call };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  return acceptWrite(deps, connection, context, request, { kind: 'call.log', call });
}

export async function acceptCallbackRequest(
  deps: Deps,
  connection: ConnectionContext,
  context: WriteContext,
  callback: CallbackRequest,
): Promise<AcceptedWrite> {
  const request = { kind: 'callback.request', connection: connection.name, callback };
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return existing;
  return acceptWrite(deps, connection, context, request, { kind: 'callback.request', callback });
}
