/**
 * An audit record as a FHIR R4 AuditEvent, the shape compliance tools and EHR audit logs read.
 * Codes are from the R4 value sets: audit-event-type `rest`, restful-interaction subtypes,
 * security-source-type 4 (application server), audit-entity-type and object-role for entities.
 */
import type { AuditRecord } from './audit';

const SYSTEM = {
  type: 'http://terminology.hl7.org/CodeSystem/audit-event-type',
  subtype: 'http://hl7.org/fhir/restful-interaction',
  sourceType: 'http://terminology.hl7.org/CodeSystem/security-source-type',
  entityType: 'http://terminology.hl7.org/CodeSystem/audit-entity-type',
  objectRole: 'http://terminology.hl7.org/CodeSystem/object-role',
  agentType: 'http://terminology.hl7.org/CodeSystem/extra-security-role-type',
  client: 'urn:continuum:client',
  agent: 'urn:continuum:agent',
  operation: 'urn:continuum:operation',
  request: 'urn:continuum:request',
  kind: 'urn:continuum:audit-kind',
} as const;

const OUTCOME_TEXT: Readonly<Record<number, string>> = {
  0: 'success',
  4: 'refused or not found',
  8: 'could not be served',
  12: 'major failure',
};

function entityOf(reference: string, patient: boolean): object {
  return {
    what: { reference },
    type: {
      system: SYSTEM.entityType,
      code: patient ? '1' : '2',
      display: patient ? 'Person' : 'System Object',
    },
    ...(patient ? { role: { system: SYSTEM.objectRole, code: '1', display: 'Patient' } } : {}),
  };
}

/** The AuditEvent for a stored record; `id` is the record's place in the trail. */
export function toAuditEvent(id: string, record: AuditRecord): Record<string, unknown> {
  const agents: object[] = [];
  if (record.client !== undefined) {
    agents.push({
      type: { coding: [{ system: SYSTEM.agentType, code: 'datacollector', display: 'Data Collector' }] },
      who: { identifier: { system: SYSTEM.client, value: record.client } },
      ...(record.tenant !== undefined ? { altId: record.tenant } : {}),
      requestor: record.agent === undefined,
      network: { address: record.source, type: '5' },
    });
  }
  if (record.agent !== undefined) {
    agents.push({
      who: { identifier: { system: SYSTEM.agent, value: record.agent } },
      requestor: true,
    });
  }
  if (agents.length === 0) {
    agents.push({ who: { display: `continuum ${record.channel}` }, requestor: false });
  }
  const entities: object[] = [
    ...(record.patients ?? []).map((ref) => entityOf(ref, true)),
    ...(record.resources ?? []).map((ref) => entityOf(ref, false)),
  ];
  if (record.operation !== undefined) {
    entities.push({
      what: { identifier: { system: SYSTEM.operation, value: record.operation } },
      type: { system: SYSTEM.entityType, code: '4', display: 'Other' },
    });
  }
  if (record.query !== undefined || record.requestId !== undefined || record.route !== undefined) {
    entities.push({
      what: {
        identifier: { system: SYSTEM.request, value: record.requestId ?? id },
      },
      type: { system: SYSTEM.entityType, code: '2', display: 'System Object' },
      ...(record.route !== undefined ? { name: record.route } : {}),
      detail: [
        ...(record.query !== undefined ? [{ type: 'query-hash', valueString: record.query }] : []),
        ...(record.result !== undefined ? [{ type: 'result', valueString: record.result }] : []),
      ],
    });
  }
  return {
    resourceType: 'AuditEvent',
    id: id.replace(/[^A-Za-z0-9.-]/g, '.'),
    type: { system: SYSTEM.type, code: 'rest', display: 'RESTful Operation' },
    subtype: [
      { system: SYSTEM.subtype, code: record.subtype },
      { system: SYSTEM.kind, code: record.kind },
    ],
    action: record.action,
    recorded: record.recorded,
    outcome: String(record.outcome),
    outcomeDesc: OUTCOME_TEXT[record.outcome] ?? 'unknown',
    agent: agents,
    source: {
      ...(record.tenant !== undefined ? { site: record.tenant } : {}),
      observer: { display: record.source },
      type: [{ system: SYSTEM.sourceType, code: '4', display: 'Application Server' }],
    },
    ...(entities.length > 0 ? { entity: entities } : {}),
  };
}
