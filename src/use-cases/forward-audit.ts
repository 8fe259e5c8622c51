/**
 * A copy of the audit trail in the EHR's own audit log, for centers whose compliance team reads it
 * there: records about a connection are created in that EHR as FHIR AuditEvents, in each stream's
 * order, from a saved place, so an EHR outage delays the copy and loses nothing. The place moves
 * only past records the EHR took (or refused for good, which is logged): at least once, and a
 * create whose answer was lost may be sent again, since R4's AuditEvent has no identifier to make
 * the create conditional on.
 */
import type { AuditRecord } from '../domain/audit';
import { toAuditEvent } from '../domain/audit-event';
import { ContinuumError } from '../domain/errors';
import type { Resource } from '../domain/fhir';
import type { UseCaseDeps } from './use-case-deps';

export interface ForwardResult {
  readonly forwarded: number;
  /** Refused by the EHR for good (logged, skipped). */
  readonly refused: number;
  /** True when the EHR could not be reached: the rest waits for the next run. */
  readonly paused: boolean;
}

export async function forwardAudit(
  deps: Pick<UseCaseDeps, 'audit' | 'connections' | 'logger'>,
  connectionName: string,
  about: (record: AuditRecord) => boolean,
  batchSize: number,
): Promise<ForwardResult> {
  const connection = deps.connections.get(connectionName);
  if (connection === undefined)
    throw new ContinuumError('VALIDATION', { detail: `unknown EHR connection ${connectionName}` });
  if (!(await connection.ehrAvailable())) return { forwarded: 0, refused: 0, paused: true };
  const name = `forward:${connectionName}`;
  const cursor: Record<string, string> = { ...(await deps.audit.cursor(name)) };
  const records = await deps.audit.readAfter(cursor, batchSize);
  let forwarded = 0;
  let refused = 0;
  let paused = false;
  for (const stored of records) {
    const slash = stored.id.indexOf('/');
    const stream = stored.id.slice(0, slash);
    const entry = stored.id.slice(slash + 1);
    if (about(stored.record)) {
      const { id: _id, ...event } = toAuditEvent(stored.id, stored.record);
      try {
        await connection.ehr.create(event as unknown as Resource, { deadlineMs: connection.writeTimeoutMs });
        forwarded++;
      } catch (error) {
        if (error instanceof ContinuumError && !error.retryable) {
          refused++;
          deps.logger.error(
            { err: error, connection: connectionName, audit: stored.id },
            'the EHR refused an audit record: not copied there (it stays in the trail)',
          );
        } else {
          paused = true;
          deps.logger.warn({ err: error, connection: connectionName }, 'audit copy to the EHR paused');
          break;
        }
      }
    }
    cursor[stream] = entry;
  }
  await deps.audit.saveCursor(name, cursor);
  return { forwarded, refused, paused };
}
