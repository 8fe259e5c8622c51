import type { Resource } from '@medplum/fhirtypes';
import type { IncludeTarget } from '@medplum/core';
import { OperationOutcomeError, badRequest, evalFhirPath, getSearchParameter } from '@medplum/core';
import type { FhirRepository } from '@medplum/fhir-router';

/**
 * `_include` for a searchset page: the resources referenced by the page's matches through the named
 * reference parameters, each once. The in-memory engine parses `_include` but ignores it; real EHRs honour
 * it and clients use it to fetch an appointment with its patient, practitioner and location in one call.
 * One level only (`:iterate` is treated as a plain include).
 */
export async function resolveIncludes(
  repo: FhirRepository,
  targets: readonly IncludeTarget[] | undefined,
  matches: readonly Resource[],
): Promise<Resource[]> {
  if (!targets?.length) {
    return [];
  }
  const seen = new Set(matches.map((resource) => `${resource.resourceType}/${resource.id ?? ''}`));
  const included: Resource[] = [];
  for (const target of targets) {
    const expression = includeExpression(target);
    for (const match of matches.filter((resource) => resource.resourceType === target.resourceType)) {
      for (const reference of referencesAt(expression, match)) {
        const [resourceType, id] = reference.split('/');
        if (resourceType === undefined || id === undefined || seen.has(reference)) {
          continue;
        }
        if (target.targetType !== undefined && target.targetType !== resourceType) {
          continue;
        }
        seen.add(reference);
        const resource = await readIfPresent(repo, resourceType, id);
        if (resource) {
          included.push(resource);
        }
      }
    }
  }
  return included;
}

function includeExpression(target: IncludeTarget): string {
  const definition = getSearchParameter(target.resourceType, target.searchParam);
  if (definition?.type !== 'reference' || definition.expression === undefined) {
    throw new OperationOutcomeError(
      badRequest(
        `Invalid _include: ${target.resourceType}:${target.searchParam} is not a reference parameter`,
      ),
    );
  }
  return definition.expression;
}

function referencesAt(expression: string, resource: Resource): string[] {
  const references: string[] = [];
  for (const value of evalFhirPath(expression, resource)) {
    const reference = (value as { reference?: unknown } | null)?.reference;
    if (typeof reference === 'string' && /^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}$/.test(reference)) {
      references.push(reference);
    }
  }
  return references;
}

async function readIfPresent(
  repo: FhirRepository,
  resourceType: string,
  id: string,
): Promise<Resource | undefined> {
  try {
    return await repo.readResource(resourceType, id);
  } catch (err) {
    if (err instanceof OperationOutcomeError) {
      return undefined;
    }
    throw err;
  }
}
