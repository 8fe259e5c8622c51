import type {
  CapabilityStatement,
  CapabilityStatementRest,
  CapabilityStatementRestResource,
  CapabilityStatementRestResourceSearchParam,
  ResourceType,
} from '@medplum/fhirtypes';
import { getSearchParameters } from '@medplum/core';

/**
 * What the sandbox serves: the seeded types plus the ones the gateway writes (call logs are Encounter +
 * Communication, callback requests are Task; audit records copied to the EHR are AuditEvent). Like a real EHR it refuses other types, so a gateway that
 * starts depending on one finds out here and not in production. Subscriptions (rest-hook, to loopback
 * endpoints) are delivered by subscription-delivery.ts.
 */
export const SANDBOX_RESOURCE_TYPES: readonly ResourceType[] = [
  'Patient',
  'Practitioner',
  'Organization',
  'Location',
  'Schedule',
  'Slot',
  'Appointment',
  'Encounter',
  'Communication',
  'Task',
  'Subscription',
  'AuditEvent',
];

const TYPE_INTERACTIONS = [
  'read',
  'vread',
  'update',
  'patch',
  'delete',
  'history-instance',
  'create',
  'search-type',
] as const;

/**
 * `tokenEndpoint`: set when the sandbox requires OAuth, announced the way SMART servers do (the
 * SMART-on-FHIR security service and the oauth-uris extension), next to the discovery document.
 */
export function buildCapabilityStatement(
  baseUrl: string,
  date: string,
  tokenEndpoint?: string,
): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'Continuum',
    kind: 'instance',
    name: 'ContinuumSandboxEhr',
    title: 'Continuum sandbox EHR',
    description:
      'In-memory FHIR R4 server with synthetic demo data, for development and tests. Matches search text exactly (phone numbers included), as production EHRs do.',
    software: { name: 'Continuum sandbox EHR (@medplum/fhir-router MemoryRepository)' },
    implementation: { description: 'Continuum sandbox EHR', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json'],
    rest: [
      {
        mode: 'server',
        documentation: `Default page size 20, at most 1000 (_count, _offset); _include supported one level deep. Subscription: R4 rest-hook channels to loopback endpoints, criteria Type or Type?param=value; signed with X-Signature when the Medplum subscription-secret extension is set.`,
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        ...(tokenEndpoint === undefined ? {} : { security: smartSecurity(tokenEndpoint) }),
        resource: SANDBOX_RESOURCE_TYPES.map(resourceCapability),
      },
    ],
  };
}

function smartSecurity(tokenEndpoint: string): NonNullable<CapabilityStatementRest['security']> {
  return {
    service: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' },
        ],
      },
    ],
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [{ url: 'token', valueUri: tokenEndpoint }],
      },
    ],
  };
}

function resourceCapability(type: ResourceType): CapabilityStatementRestResource {
  const params = Object.values(getSearchParameters(type) ?? {});
  const searchParam: CapabilityStatementRestResourceSearchParam[] = params.map((param) => ({
    name: param.code,
    definition: param.url,
    type: param.type,
  }));
  return {
    type,
    interaction: TYPE_INTERACTIONS.map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: false,
    conditionalCreate: true,
    conditionalRead: 'not-supported',
    conditionalUpdate: true,
    conditionalDelete: 'single',
    referencePolicy: ['literal', 'local', 'enforced'],
    searchInclude: params
      .filter((param) => param.type === 'reference')
      .map((param) => `${type}:${param.code}`),
    searchParam,
  };
}
