import type { Resource } from '@medplum/fhirtypes';
import { OperationOutcomeError, badRequest, isResourceType, validateResource } from '@medplum/core';
import type { RequiredCodes } from './required-codes';

/** `Type/id` or `Type/id/_history/vid`: the literal references a server can check against its own store. */
const LOCAL_REFERENCE = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;

export interface LocalReference {
  readonly resourceType: string;
  readonly id: string;
  /** FHIRPath-like location, reported in the OperationOutcome so the client sees which field is wrong. */
  readonly expression: string;
}

/**
 * Structural validation against the R4 StructureDefinitions (cardinality, types, formats, unknown
 * elements) plus required code bindings. Throws a 400 OperationOutcomeError listing every issue, the way a
 * real EHR answers an invalid write, instead of storing whatever JSON arrives as the bare in-memory engine
 * would.
 */
export function assertValidResource(resource: unknown, codes: RequiredCodes): asserts resource is Resource {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) {
    throw new OperationOutcomeError(badRequest('Request body must be a FHIR resource (a JSON object)'));
  }
  const resourceType: unknown = (resource as { resourceType?: unknown }).resourceType;
  if (typeof resourceType !== 'string' || !isResourceType(resourceType)) {
    throw new OperationOutcomeError(badRequest('Missing or unknown resourceType', 'resourceType'));
  }
  validateResource(resource as Resource);
  const issues = codes.issues(resource as Resource);
  if (issues.length > 0) {
    throw new OperationOutcomeError({ resourceType: 'OperationOutcome', issue: issues });
  }
}

/** Every literal local reference in the resource (contained `#x`, `urn:` and absolute URLs are skipped). */
export function localReferences(resource: Resource): LocalReference[] {
  const found: LocalReference[] = [];
  collect(resource, resource.resourceType, found);
  return found;
}

function collect(value: unknown, path: string, found: LocalReference[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      collect(item, `${path}[${index}]`, found);
    });
    return;
  }
  if (typeof value !== 'object' || value === null) {
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key === 'reference' && typeof child === 'string') {
      const match = LOCAL_REFERENCE.exec(child);
      if (match?.[1] !== undefined && match[2] !== undefined) {
        found.push({ resourceType: match[1], id: match[2], expression: path });
      }
    } else if (key !== 'contained') {
      collect(child, `${path}.${key}`, found);
    }
  }
}
