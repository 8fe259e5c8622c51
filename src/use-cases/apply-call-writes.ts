/**
 * Sends a logged call to the EHR: an Encounter (the call) and a Communication (the conversation,
 * with the agent's notes) linked to it. Each carries the operation's identifier and is created
 * conditionally on it, so a re-run after a lost answer finds what the first attempt made instead
 * of logging the call twice.
 */
import type { Communication, Encounter, Resource } from '../domain/fhir';
import {
  OPERATION_IDENTIFIER_SYSTEM,
  type CallbackRequestPayload,
  type CallLogPayload,
  type Operation,
} from '../domain/operation';
import type { AppliedWrite } from './apply-patient-update';
import type { ConnectionContext } from './use-case-deps';

async function createOnce<T extends Resource & { identifier?: { system?: string; value?: string }[] }>(
  connection: ConnectionContext,
  op: Operation,
  resource: T,
): Promise<{ readonly resource: T; readonly created: boolean }> {
  const marked: T = {
    ...resource,
    identifier: [...(resource.identifier ?? []), { system: OPERATION_IDENTIFIER_SYSTEM, value: op.id }],
  };
  return connection.ehr.create(marked, {
    deadlineMs: connection.writeTimeoutMs,
    ifNoneExist: `identifier=${OPERATION_IDENTIFIER_SYSTEM}|${op.id}`,
  });
}

export async function applyCallLog(
  connection: ConnectionContext,
  op: Operation,
  payload: CallLogPayload,
): Promise<AppliedWrite> {
  const encounter = await createOnce<Encounter>(
    connection,
    op,
    await connection.mapping.buildCallEncounter(payload.call),
  );
  const encounterId = encounter.resource.id ?? '';
  const communication = await createOnce<Communication>(
    connection,
    op,
    await connection.mapping.buildCallCommunication(payload.call, encounterId),
  );
  const again = !encounter.created || !communication.created;
  return {
    resourceRef: `Encounter/${encounterId}`,
    resourceVersion: encounter.resource.meta?.versionId,
    note: `Communication/${communication.resource.id ?? ''}${again ? '; part was already in the EHR from an earlier attempt' : ''}`,
    ...(payload.call.patientId !== undefined ? { patientId: payload.call.patientId } : {}),
  };
}

export async function applyCallbackRequest(
  connection: ConnectionContext,
  op: Operation,
  payload: CallbackRequestPayload,
): Promise<AppliedWrite> {
  const task = await createOnce(
    connection,
    op,
    await connection.mapping.buildCallbackTask(payload.callback, op.createdAt),
  );
  return {
    resourceRef: `Task/${task.resource.id ?? ''}`,
    resourceVersion: task.resource.meta?.versionId,
    ...(task.created ? {} : { note: 'the EHR already held this callback; nothing new was created' }),
    ...(payload.callback.patientId !== undefined ? { patientId: payload.callback.patientId } : {}),
  };
}
