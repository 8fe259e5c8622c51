import type { Patient } from '../domain/fhir';
import { validationError } from '../domain/errors';
import type { PatientChanges } from '../domain/patient';
import { isE164 } from '../phone';
import type { FhirPathExpression } from './fhirpath-expression';
import { isTrue } from './fhirpath-expression';
import type { CompiledTemplate } from './jsonata-template';
import type { PatientWriteField } from './profile-schema';

/** One `write:` rule compiled: which entries of `element` a change replaces and how new entries look. */
export interface WriteRule {
  readonly element: string;
  readonly replaces: FhirPathExpression;
  readonly whenNoneReplaced: 'append' | 'replaceFirst';
  /**
   * Which replaced entry each new value continues (`$existing`): tried in order, each rule for every
   * value still without one before the next rule; an entry is continued by one value at most.
   */
  readonly existing: readonly FhirPathExpression[];
  readonly template: CompiledTemplate;
}

export type PatientWriteSpec = Readonly<Record<PatientWriteField, WriteRule>>;

/** Fields in the order they are applied: fixed, so the same change always yields the same resource. */
export const WRITE_FIELDS: readonly PatientWriteField[] = ['phones', 'email', 'address', 'preferredLanguage'];

/** Runs one step of a rule; the caller turns a failure into an error naming `write.<field>.<step>`. */
export type Guard = <T>(field: string, run: () => T) => T;
export type AsyncGuard = <T>(field: string, run: () => Promise<T>) => Promise<T>;

export interface WriterContext {
  /** Profile constants, bound as `$name` in templates. */
  readonly constants: Readonly<Record<string, unknown>>;
  readonly guard: Guard;
  readonly guardAsync: AsyncGuard;
}

export function touchedElementsWith(spec: PatientWriteSpec, changes: PatientChanges): string[] {
  const elements = WRITE_FIELDS.filter((field) => changes[field] !== undefined).map(
    (field) => spec[field].element,
  );
  return [...new Set(elements)];
}

export async function applyPatientChangesWith(
  spec: PatientWriteSpec,
  context: WriterContext,
  resource: Patient,
  changes: PatientChanges,
): Promise<Patient> {
  // A deep copy: the caller's resource is never modified and shares nothing with the result.
  const next = structuredClone(resource) as Patient & Record<string, unknown>;
  for (const field of WRITE_FIELDS) {
    const values = changeValues(field, changes);
    if (values !== undefined) await applyRule(next, field, spec[field], values, context);
  }
  return next;
}

/** The new values of one field: undefined when the change leaves it alone, [] when it clears it. */
function changeValues(field: PatientWriteField, changes: PatientChanges): readonly unknown[] | undefined {
  switch (field) {
    case 'phones': {
      if (changes.phones === undefined) return undefined;
      // Numbers were read once, at the API, with the connection's region: reading them again here
      // could only disagree. Anything else is refused rather than stored as the EHR's number.
      const stray = changes.phones.findIndex((value) => !isE164(value));
      if (stray !== -1) {
        throw validationError([{ field: `phones[${stray}]`, message: 'is not an E.164 number' }]);
      }
      return [...new Set(changes.phones)];
    }
    case 'email':
    case 'address':
    case 'preferredLanguage': {
      const value = changes[field];
      if (value === undefined) return undefined;
      return value === null ? [] : [value];
    }
  }
}

async function applyRule(
  resource: Record<string, unknown>,
  field: PatientWriteField,
  rule: WriteRule,
  values: readonly unknown[],
  context: WriterContext,
): Promise<void> {
  const current: unknown[] = Array.isArray(resource[rule.element])
    ? (resource[rule.element] as unknown[])
    : [];
  const replacing = context.guard(`write.${field}.replaces`, () =>
    current.map((entry) => isTrue(rule.replaces.evaluate(entry, { value: values }))),
  );
  if (!replacing.includes(true) && rule.whenNoneReplaced === 'replaceFirst' && current.length > 0) {
    replacing[0] = true;
  }
  const replaced = current.filter((_entry, index) => replacing[index] === true);

  const existing = context.guard(`write.${field}.existing`, () => pairWithReplaced(rule, values, replaced));
  const created: Record<string, unknown>[] = [];
  for (const [index, value] of values.entries()) {
    const output = await context.guardAsync(`write.${field}.template`, () =>
      rule.template.evaluate(value, { ...context.constants, value, existing: existing[index], index }),
    );
    created.push(...context.guard(`write.${field}.template`, () => toEntries(output)));
  }

  // New entries take the place of the first replaced one, so the element keeps its order.
  const firstReplaced = replacing.indexOf(true);
  const insertAt = firstReplaced === -1 ? current.length : firstReplaced;
  const kept = current.filter((_entry, index) => replacing[index] !== true);
  const result = [...kept.slice(0, insertAt), ...created, ...kept.slice(insertAt)];
  if (result.length === 0) {
    // FHIR forbids empty arrays: an element with no entries left is removed.
    Reflect.deleteProperty(resource, rule.element);
  } else {
    resource[rule.element] = result;
  }
}

/**
 * For each new value, the replaced entry it continues, if any. Rules are tried in order, each for
 * every value still unpaired, so a stronger rule (the same number) claims its entries before a
 * weaker one (the next entry left) pairs the rest; an entry taken by one value is not offered to
 * another, so two new numbers never both inherit one old entry's `use`.
 */
function pairWithReplaced(
  rule: WriteRule,
  values: readonly unknown[],
  replaced: readonly unknown[],
): unknown[] {
  const paired: unknown[] = values.map(() => undefined);
  const taken = new Set<number>();
  for (const expression of rule.existing) {
    for (const [index, value] of values.entries()) {
      if (paired[index] !== undefined) continue;
      const at = replaced.findIndex(
        (entry, position) => !taken.has(position) && isTrue(expression.evaluate(entry, { value })),
      );
      if (at === -1) continue;
      taken.add(at);
      paired[index] = replaced[at];
    }
  }
  return paired;
}

/** A template yields one entry, several (an array) or none (nothing); each entry must be an object. */
function toEntries(output: unknown): Record<string, unknown>[] {
  if (output === undefined) return [];
  const entries = Array.isArray(output) ? (output as unknown[]) : [output];
  return entries.map((entry) => {
    // A JSON round trip leaves plain data only: jsonata marks its result sequences with extra state.
    const text = JSON.stringify(toJson(entry)) as string | undefined;
    const json = text === undefined ? undefined : (JSON.parse(text) as unknown);
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new TypeError('the template must produce an object (or an array of objects)');
    }
    return json as Record<string, unknown>;
  });
}

/** Plain JSON: drops undefined members, jsonata's sequence flags and null prototypes. */
export function toJson(value: unknown): unknown {
  if (Array.isArray(value)) return (value as unknown[]).filter((item) => item !== undefined).map(toJson);
  if (typeof value === 'object' && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      if (member !== undefined) result[key] = toJson(member);
    }
    return result;
  }
  if (typeof value === 'number' && !Number.isFinite(value))
    throw new TypeError('the template produced a non-finite number');
  return value;
}
