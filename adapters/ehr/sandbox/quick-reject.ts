import type { Resource } from '@medplum/fhirtypes';
import type { Filter } from '@medplum/core';
import { Operator, getSearchParameter } from '@medplum/core';

/** Decides in plain JavaScript that a resource cannot match a filter; `false` means "ask the engine". */
export type QuickReject = (resource: Resource) => boolean;

/**
 * Medplum's matcher evaluates FHIRPath for every filter and candidate (about 20 µs each), so a day of one
 * schedule's slots cost ~4,000 evaluations. For token, reference and date filters this builds a cheap test
 * over the raw JSON: it follows the expression's leading element path (dropping `.where(...)`, which can
 * only remove values) and rejects when no token there is equal, no reference ends with the id, or every date
 * is days away from the bound. It only ever rejects resources the engine would reject too; survivors still
 * go through the engine.
 */
export function quickRejectFor(resourceType: string, filter: Filter): QuickReject | undefined {
  const param = getSearchParameter(resourceType, filter.code);
  if (!param?.expression) {
    return undefined;
  }
  if (param.type === 'date') {
    return dateRejectFor(resourceType, param.expression, filter);
  }
  if (filter.operator !== Operator.EQUALS || (param.type !== 'token' && param.type !== 'reference')) {
    return undefined;
  }
  const paths = leadingPaths(resourceType, param.expression);
  const wanted = filter.value.split(',').map((value) => {
    const code =
      param.type === 'token' ? value.slice(value.indexOf('|') + 1) : value.slice(value.lastIndexOf('/') + 1);
    return code.toLowerCase();
  });
  if (!paths || wanted.some((value) => value === '')) {
    return undefined;
  }
  const isToken = param.type === 'token';
  return (resource) =>
    !valuesAt(resource, paths).some((leaf) => {
      const text = leaf.toLowerCase();
      return wanted.some((value) =>
        isToken ? text === value : text === value || text.endsWith(`/${value}`),
      );
    });
}

/** Dates, times and zones make exact comparison subtle; two days of slack keep the shortcut safe. */
const DATE_SLACK_MS = 2 * 86_400_000;

/**
 * For date ranges (`start=ge...`, `date=lt...`): rejects values more than two days on the wrong side of
 * the bound, leaving anything near it to the engine's precise (precision- and zone-aware) comparison.
 */
function dateRejectFor(resourceType: string, expression: string, filter: Filter): QuickReject | undefined {
  const paths = leadingPaths(resourceType, expression);
  const bound = Date.parse(filter.value);
  if (!paths || filter.value.includes(',') || Number.isNaN(bound)) {
    return undefined;
  }
  const lower = [Operator.GREATER_THAN, Operator.GREATER_THAN_OR_EQUALS, Operator.STARTS_AFTER] as string[];
  const upper = [Operator.LESS_THAN, Operator.LESS_THAN_OR_EQUALS, Operator.ENDS_BEFORE] as string[];
  const tooEarly = lower.includes(filter.operator) || filter.operator === Operator.EQUALS;
  const tooLate = upper.includes(filter.operator) || filter.operator === Operator.EQUALS;
  if (!tooEarly && !tooLate) {
    return undefined;
  }
  return (resource) => {
    const instants = valuesAt(resource, paths).map((text) => Date.parse(text));
    if (instants.length === 0 || instants.some((instant) => Number.isNaN(instant))) {
      return false;
    }
    return instants.every(
      (instant) =>
        (tooEarly && instant < bound - DATE_SLACK_MS) || (tooLate && instant > bound + DATE_SLACK_MS),
    );
  };
}

function valuesAt(resource: Resource, paths: readonly string[][]): string[] {
  const leaves: string[] = [];
  for (const path of paths) {
    collectStrings(
      path.reduce<unknown[]>((values, key) => values.flatMap((v) => childOf(v, key)), [resource]),
      leaves,
    );
  }
  return leaves;
}

/** `Slot.schedule` -> [['schedule']]; `Patient.telecom.where(system='phone')` -> [['telecom']]. */
function leadingPaths(resourceType: string, expression: string): string[][] | undefined {
  const paths: string[][] = [];
  for (const branch of expression.split('|').map((b) => b.trim())) {
    const match = /^([A-Z][A-Za-z]+)((?:\.[a-z][A-Za-z0-9]*(?![A-Za-z0-9(]))*)(.*)$/.exec(branch);
    if (match?.[1] !== resourceType || !match[2]) {
      return undefined;
    }
    const rest = match[3] ?? '';
    if (rest !== '' && !rest.startsWith('.where(')) {
      return undefined;
    }
    paths.push(match[2].slice(1).split('.'));
  }
  return paths;
}

function childOf(value: unknown, key: string): unknown[] {
  if (typeof value !== 'object' || value === null) {
    return [];
  }
  const child: unknown = (value as Record<string, unknown>)[key];
  return Array.isArray(child) ? child : child === undefined ? [] : [child];
}

function collectStrings(values: readonly unknown[], into: string[]): void {
  for (const value of values) {
    if (typeof value === 'string') {
      into.push(value);
    } else if (Array.isArray(value)) {
      collectStrings(value, into);
    } else if (typeof value === 'object' && value !== null) {
      collectStrings(Object.values(value), into);
    }
  }
}
