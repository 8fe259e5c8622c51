/**
 * What the workers record in the audit trail: each write applied to the EHR (once, at its final
 * outcome, on behalf of the client that sent it) and each EHR notification processed. The EHR has
 * already answered when these are written, so a record that cannot be stored is retried a few
 * times and then logged loudly, never allowed to fail the job (a re-run would re-send the write).
 */
import type { AuditAction, AuditSubtype, NewAuditRecord } from '../domain/audit';
import type { Operation, OperationKind } from '../domain/operation';
import type { Logger } from '../domain/ports';
import type { UseCaseDeps } from './use-case-deps';

const WRITE_SHAPE: Readonly<Record<OperationKind, { action: AuditAction; subtype: AuditSubtype }>> = {
  'patient.create': { action: 'C', subtype: 'create' },
  'patient.update': { action: 'U', subtype: 'update' },
  'appointment.book': { action: 'C', subtype: 'create' },
  'appointment.cancel': { action: 'U', subtype: 'update' },
  'appointment.confirm': { action: 'U', subtype: 'update' },
  'appointment.reschedule': { action: 'U', subtype: 'update' },
  'appointment.convert': { action: 'U', subtype: 'update' },
  'appointment.hold': { action: 'U', subtype: 'update' },
  'call.log': { action: 'C', subtype: 'create' },
  'callback.request': { action: 'C', subtype: 'create' },
};

export function writeAppliedRecord(op: Operation, at: Date): NewAuditRecord {
  const shape = WRITE_SHAPE[op.kind];
  const ref = op.resourceRef;
  return {
    recorded: at.toISOString(),
    kind: `write.applied.${op.kind}`,
    ...shape,
    outcome: op.status === 'succeeded' ? 0 : op.status === 'failed' ? 4 : 8,
    result: op.status,
    channel: 'worker',
    ...(op.owner !== undefined ? { client: op.owner.clientId, tenant: op.owner.tenant } : {}),
    connection: op.connection,
    ...(op.patientId !== undefined ? { patients: [`Patient/${op.patientId}`] } : {}),
    ...(ref !== undefined && !ref.startsWith('Patient/') ? { resources: [ref] } : {}),
    operation: op.id,
    ...(op.requestId !== undefined ? { requestId: op.requestId } : {}),
  };
}

export function notificationRecord(
  connection: string,
  eventId: string,
  patients: readonly string[],
  resources: readonly string[],
  at: Date,
): NewAuditRecord {
  return {
    recorded: at.toISOString(),
    kind: 'notification.processed',
    action: 'R',
    subtype: 'read',
    outcome: 0,
    channel: 'ehr',
    connection,
    ...(patients.length > 0 ? { patients: [...new Set(patients)].slice(0, 100) } : {}),
    ...(resources.length > 0 ? { resources: [...new Set(resources)].slice(0, 100) } : {}),
    requestId: eventId,
  };
}

const ATTEMPTS = 3;

export async function recordAfterTheFact(
  deps: Pick<UseCaseDeps, 'audit'>,
  record: NewAuditRecord,
  log: Logger,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await deps.audit.append(record);
      return;
    } catch (error) {
      if (attempt >= ATTEMPTS) {
        log.error(
          { err: error, kind: record.kind, operationId: record.operation },
          'audit record of a completed act could not be stored',
        );
        return;
      }
      // Back-off between tries of a record the EHR side already made true.
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
