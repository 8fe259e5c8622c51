/**
 * What a platform deliverer needs to place a callback that events cannot carry: the number and the
 * window are PHI-adjacent, so a `callback.requested` event only names the Task
 * (`resourceRef: 'Task/<id>'`) and the deliverer reads it from the EHR at delivery time.
 *
 * The Task is the one the default mapping profile builds (mappings/default/call.yaml, `callback`):
 * the number is `input[].valueString` where `input[].type.text` is `phone` (E.164), the window is
 * `restriction.period.start/end`.
 */
import { isContinuumError } from '../../src/domain/errors';
import type { CallCenterEvent } from '../../src/domain/events';
import type { Task } from '../../src/domain/fhir';
import { DeliveryError } from '../../src/domain/event-deliverer';

/** Reads a Task from the EHR behind a connection (the platform deliverers' only EHR access). */
export type ReadTask = (connection: string, taskId: string) => Promise<Task>;

export interface CallbackRequest {
  /** E.164. PHI: never log it, never put it in an error. */
  readonly phone: string;
  /** When the callback window opens, as an ISO instant, if the Task has one. */
  readonly windowStart: Date | undefined;
  /** The Task reference, `Task/<id>`. */
  readonly resourceRef: string;
}

const TASK_REF = /^Task\/([A-Za-z0-9\-.]{1,64})$/;
const E164 = /^\+[1-9]\d{1,14}$/;
/** A Task in one of these states no longer asks for a call: nothing is sent. */
const CLOSED_STATUSES = new Set(['cancelled', 'completed', 'rejected', 'failed', 'entered-in-error']);

/**
 * The callback a `callback.requested` event names, read from the EHR; `undefined` when the Task was
 * closed meanwhile (cancelled, completed...), so there is no one to call any more. Throws a
 * DeliveryError: 'rejected' for an event or Task that can never be delivered (no Task reference, no
 * E.164 number, a Task the EHR says is not there), 'retry' when the EHR could not answer.
 */
export async function readCallbackRequest(
  platform: string,
  event: CallCenterEvent,
  readTask: ReadTask,
): Promise<CallbackRequest | undefined> {
  const { connection, resourceRef } = event.data;
  const taskId = typeof resourceRef === 'string' ? TASK_REF.exec(resourceRef)?.[1] : undefined;
  if (typeof connection !== 'string' || connection === '' || taskId === undefined) {
    throw new DeliveryError('rejected', `${platform}: the event names no connection and Task/<id>`);
  }
  let task: Task;
  try {
    task = await readTask(connection, taskId);
  } catch (error) {
    if (isContinuumError(error)) {
      // The EHR's own verdict: a Task that is not there (or refused) will not appear on a retry.
      throw new DeliveryError(
        error.retryable ? 'retry' : 'rejected',
        `${platform}: the callback Task could not be read (${error.code})`,
        undefined,
        error.retryAfterSeconds,
      );
    }
    throw new DeliveryError('retry', `${platform}: the callback Task could not be read`);
  }
  if (CLOSED_STATUSES.has(task.status)) return undefined;
  const phone = task.input?.find((input) => input.type.text === 'phone')?.valueString?.trim();
  if (phone === undefined || !E164.test(phone)) {
    throw new DeliveryError('rejected', `${platform}: ${resourceRef as string} has no E.164 callback number`);
  }
  const start = task.restriction?.period?.start;
  const windowStart = start !== undefined ? new Date(start) : undefined;
  return {
    phone,
    windowStart: windowStart !== undefined && !Number.isNaN(windowStart.getTime()) ? windowStart : undefined,
    resourceRef: `Task/${taskId}`,
  };
}

/** The event's non-PHI references, as strings (platform attribute maps take strings only). */
export function referencesOf(event: CallCenterEvent, resourceRef: string): Record<string, string> {
  const refs: Record<string, string> = { eventId: event.id, eventType: event.type, resourceRef };
  for (const key of ['operationId', 'patientId', 'connection'] as const) {
    const value = event.data[key];
    if (typeof value === 'string' && value !== '') refs[key] = value;
  }
  return refs;
}
