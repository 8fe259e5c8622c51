/**
 * The IVR's "call me back" in one step: the number comes from the patient's record (the first
 * dialable number the mapping profile reads, with the patient's own queued corrections applied;
 * the continuity cache's copy while the EHR is down), the window is the first with room, and the
 * callback goes through the write pipeline like any other (POST /v1/callbacks).
 *
 * A place in a window is taken before the write is stored and given back when the request turns
 * out to be a repeat (same Idempotency-Key or contact id) or is refused, so retries never fill
 * windows; a write whose outcome is unknown keeps its place, as it may be stored. The idempotency hash covers what the caller sent, not the window chosen for it.
 */
import type { Tenant } from '../domain/access';
import type { CallbackPriority } from '../domain/call';
import { upcomingWindows, type CallbackWindow } from '../domain/callback-windows';
import { ContinuumError } from '../domain/errors';
import type { Operation } from '../domain/operation';
import {
  acceptWrite,
  findExistingWrite,
  type AcceptDeps,
  type AcceptedWrite,
  type WriteContext,
} from './accept-write';
import { readPatient, type PatientReadDeps } from './patient-read';
import { pendingPatientWrites } from './pending-writes';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export type CallbackRequestDeps = AcceptDeps &
  PatientReadDeps &
  Pick<UseCaseDeps, 'callbackWindows' | 'callbackBook'>;

export interface CallbackRequestInput {
  readonly patientId: string;
  /** E.164; absent: the number on the patient's record. */
  readonly phone: string | undefined;
  readonly priority: CallbackPriority;
  readonly reason: string | undefined;
}

/** Where the number to call came from: the caller, the EHR just now, or the continuity cache. */
export type NumberSource = 'request' | 'record' | 'cache';

export interface RequestedCallback {
  readonly accepted: AcceptedWrite;
  readonly window: CallbackWindow;
  readonly numberFrom: NumberSource;
  /** The last four digits, for "we will call the number ending 0142": never the whole number. */
  readonly phoneEnding: string;
}

/** Put on the Task, so whoever calls knows to confirm the number first. */
export const CACHED_NUMBER_NOTE =
  'Number taken from the last known copy of the patient record (the EHR was unavailable): confirm it on the call.';

function outcomeOf(op: Operation, accepted: AcceptedWrite, requested: boolean): RequestedCallback {
  if (op.payload.kind !== 'callback.request') throw new Error('not a callback request');
  const { phone, windowStart, windowEnd, notes } = op.payload.callback;
  return {
    accepted,
    window: { start: windowStart ?? '', end: windowEnd ?? '' },
    numberFrom: requested ? 'request' : notes === CACHED_NUMBER_NOTE ? 'cache' : 'record',
    phoneEnding: phone.slice(-4),
  };
}

async function numberToCall(
  deps: CallbackRequestDeps,
  connection: ConnectionContext,
  tenant: Tenant,
  input: CallbackRequestInput,
): Promise<{ readonly phone: string; readonly from: NumberSource }> {
  if (input.phone !== undefined) return { phone: input.phone, from: 'request' };
  const patient = await readPatient(
    deps,
    connection,
    input.patientId,
    pendingPatientWrites(deps, connection, input.patientId, tenant),
  );
  const phone = patient.phones[0];
  if (phone === undefined) {
    throw new ContinuumError('NO_CALLBACK_NUMBER', {
      detail: 'the patient record holds no number that can be dialled: send `phone`, or transfer to an agent',
    });
  }
  return { phone, from: patient.freshness.source === 'cache' ? 'cache' : 'record' };
}

export async function requestCallback(
  deps: CallbackRequestDeps,
  connection: ConnectionContext,
  context: WriteContext,
  tenant: Tenant,
  input: CallbackRequestInput,
): Promise<RequestedCallback> {
  const request = { kind: 'callback.one-step', ...input, connection: connection.name };
  const requested = input.phone !== undefined;
  const existing = await findExistingWrite(deps, connection, context, request);
  if (existing) return outcomeOf(existing.operation, existing, requested);

  const { phone, from } = await numberToCall(deps, connection, tenant, input);
  const rules = deps.callbackWindows;
  const windows = upcomingWindows(rules, deps.clock.now());
  const index = await deps.callbackBook.reserve(tenant.name, windows, rules.capacity);
  const window = index === undefined ? undefined : windows[index];
  if (window === undefined) {
    throw new ContinuumError('CALLBACK_WINDOWS_FULL', {
      detail: `every callback window in the next ${rules.searchDays} days is full: transfer to an agent`,
    });
  }
  let accepted: AcceptedWrite;
  try {
    accepted = await acceptWrite(deps, connection, context, request, {
      kind: 'callback.request',
      callback: {
        patientId: input.patientId,
        phone,
        windowStart: window.start,
        windowEnd: window.end,
        priority: input.priority,
        reason: input.reason,
        notes: from === 'cache' ? CACHED_NUMBER_NOTE : undefined,
      },
    });
  } catch (error) {
    // A write whose insert was sent and never answered may be stored: its place stays taken, or
    // the window would promise one callback more than it holds. A retry finds the stored write.
    if (!mayHaveBeenStored(error)) await giveBack(deps, tenant, window);
    throw error;
  }
  // Another request under the same key was stored first: it holds its own place.
  if (!accepted.created) await giveBack(deps, tenant, window);
  return outcomeOf(accepted.operation, accepted, requested);
}

function mayHaveBeenStored(error: unknown): boolean {
  return error instanceof ContinuumError && error.code === 'WRITE_OUTCOME_UNKNOWN';
}

async function giveBack(
  deps: Pick<CallbackRequestDeps, 'callbackBook' | 'logger'>,
  tenant: Tenant,
  window: CallbackWindow,
): Promise<void> {
  await deps.callbackBook.release(tenant.name, window).catch((error: unknown) => {
    deps.logger.warn({ err: error, window: window.start }, 'callback window place not given back');
  });
}
