/**
 * The two writes every use case makes, chosen by what the connection's EHR supports:
 * - a change to a resource read moments ago: PUT of the whole resource, or a JSON Patch of the
 *   difference, under If-Match on the version read (refused up front when the EHR requires If-Match
 *   and gave no version, rather than sent unguarded);
 * - a create marked with the operation's identifier, exactly once: conditional on that identifier
 *   where the EHR honours If-None-Exist, else searched by it first (safe because one lane never has
 *   two writes in flight).
 */
import { createPatch } from 'rfc6902';
import { ContinuumError } from '../domain/errors';
import type { Resource } from '../domain/fhir';
import { OPERATION_IDENTIFIER_SYSTEM } from '../domain/operation';
import type { JsonPatchOperation } from '../domain/ports';
import type { ConnectionContext } from './use-case-deps';

export async function writeChange<T extends Resource>(
  connection: ConnectionContext,
  current: T,
  desired: T,
): Promise<T> {
  const version = current.meta?.versionId;
  if (version === undefined && connection.capabilities.ifMatchRequired) {
    throw new ContinuumError('EHR_REJECTED', {
      detail: `EHR ${connection.name} requires If-Match but gave ${current.resourceType}/${current.id ?? ''} no version`,
    });
  }
  const options = {
    deadlineMs: connection.writeTimeoutMs,
    ...(version !== undefined ? { ifMatchVersion: version } : {}),
  };
  if (connection.capabilities.update === 'patch') {
    if (current.id === undefined)
      throw new ContinuumError('VALIDATION', { detail: 'a change needs a resource id' });
    // meta is the server's; a patch touches the content only.
    const operations = createPatch(withoutMeta(current), withoutMeta(desired)) as JsonPatchOperation[];
    return connection.ehr.patch<T>(current.resourceType, current.id, operations, options);
  }
  return connection.ehr.update(desired, options);
}

function withoutMeta(resource: Resource): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...resource };
  delete copy.meta;
  return copy;
}

type Identified = Resource & { identifier?: { system?: string; value?: string }[] };

/** Creates `resource` marked with the operation id, or finds the one an earlier attempt created. */
export async function createOnce<T extends Identified>(
  connection: ConnectionContext,
  operationId: string,
  resource: T,
): Promise<{ readonly resource: T; readonly created: boolean }> {
  const token = `${OPERATION_IDENTIFIER_SYSTEM}|${operationId}`;
  const marked: T = {
    ...resource,
    identifier: [...(resource.identifier ?? []), { system: OPERATION_IDENTIFIER_SYSTEM, value: operationId }],
  };
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  if (connection.capabilities.conditionalCreate) {
    return connection.ehr.create(marked, { ...deadline, ifNoneExist: `identifier=${token}` });
  }
  const [existing] = await connection.ehr.search<T>(resource.resourceType, { identifier: token }, deadline);
  if (existing !== undefined) return { resource: existing, created: false };
  return connection.ehr.create(marked, deadline);
}
