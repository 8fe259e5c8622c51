/**
 * The `call.yaml` part of a profile: how a logged call becomes an Encounter and a Communication,
 * and a callback request a Task. Templates are JSONata; code tables turn call-center reasons and
 * dispositions into the EHR's codes.
 */
import { z } from 'zod';
import type { CallbackRequest, CallLog } from '../domain/call';
import type { CodeableConcept, Communication, Encounter, Reference, Task } from '../domain/fhir';
import { codeTable, lookUpCode, type CodeTable } from './appointment-reader';
import type { CompiledTemplate } from './jsonata-template';

export const callFileSchema = z.strictObject({
  codes: z.strictObject({ reason: codeTable.prefault({}), disposition: codeTable.prefault({}) }),
  encounter: z.strictObject({ template: z.string().min(1) }),
  communication: z.strictObject({ template: z.string().min(1) }),
  callback: z.strictObject({ template: z.string().min(1) }),
});

export type CallFile = z.infer<typeof callFileSchema>;

export interface CallWriteSpec {
  readonly codes: CallFile['codes'];
  readonly encounter: CompiledTemplate;
  readonly communication: CompiledTemplate;
  readonly callback: CompiledTemplate;
}

function coded(table: CodeTable, value: string | undefined): { system?: string; code: string } | undefined {
  const code = lookUpCode(table, value);
  if (code === undefined) return undefined;
  return table.system !== undefined ? { system: table.system, code } : { code };
}

const patientRef = (id: string | undefined): Reference | undefined =>
  id === undefined ? undefined : { reference: `Patient/${id}` };

/** What the call templates see as `$value`. */
export function callTemplateInput(spec: CallWriteSpec, call: CallLog): Record<string, unknown> {
  const reason = coded(spec.codes.reason, call.reason);
  const reasonConcept: CodeableConcept | undefined =
    reason === undefined ? undefined : { coding: [reason], ...(call.reason ? { text: call.reason } : {}) };
  return {
    patient: patientRef(call.patientId),
    direction: call.direction,
    start: call.startedAt,
    end: call.endedAt,
    agent:
      call.agent === undefined
        ? undefined
        : {
            display: call.agent.name,
            ...(call.agent.practitionerId !== undefined
              ? { reference: `Practitioner/${call.agent.practitionerId}` }
              : {}),
          },
    reason: reasonConcept,
    disposition: coded(spec.codes.disposition, call.disposition),
    notes: call.notes,
  };
}

export function callbackTemplateInput(request: CallbackRequest, authoredOn: string): Record<string, unknown> {
  return {
    patient: patientRef(request.patientId),
    phone: request.phone,
    windowStart: request.windowStart,
    windowEnd: request.windowEnd,
    priority: request.priority,
    reason: request.reason,
    notes: request.notes,
    authoredOn,
  };
}

export type { Communication, Encounter, Task };
