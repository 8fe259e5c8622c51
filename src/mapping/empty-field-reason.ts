/**
 * Why a read rule gave nothing on a record, said so an engineer can act on it: the coded filter
 * nothing in the record passes (what it asks for next to what the record has), else the first
 * element the rule walks that the record lacks. It quotes record values: the text is for the
 * audited workbench and CLI, never for logs.
 */
import type { FhirPathWalk, MemberFilter } from './fhirpath-walk';

/** An element path the rule walks and how many values the record has there. */
export interface WalkedPath {
  readonly path: string;
  readonly present: number;
}

const MAX_VALUES_QUOTED = 10;

/**
 * The values at a plain element path of a FHIR JSON value, arrays flattened; `value` also finds a
 * choice element such as `valueString`, as FHIRPath does.
 */
export function valuesAt(focus: unknown, path: string): unknown[] {
  let current: unknown[] = [focus];
  for (const name of path === '' ? [] : path.split('.')) {
    current = current.flatMap((item) => {
      if (item === null || typeof item !== 'object' || Array.isArray(item)) return [];
      const record = item as Record<string, unknown>;
      const key =
        name in record
          ? name
          : Object.keys(record).find((k) => k.startsWith(name) && /^[A-Z]/.test(k.slice(name.length)));
      const value = key === undefined ? undefined : record[key];
      if (value === undefined || value === null) return [];
      return Array.isArray(value) ? (value as unknown[]) : [value];
    });
  }
  return current;
}

export function walkedPaths(walk: FhirPathWalk, focus: unknown): WalkedPath[] {
  return walk.paths.map((path) => ({ path, present: valuesAt(focus, path).length }));
}

/** Why the rule gave no value on `focus`; `result` is what it gave (values that are not text). */
export function emptyFieldReason(
  walk: FhirPathWalk,
  focus: unknown,
  result: readonly unknown[],
  /** What the focus is, for the sentence: `the record`, or `the name read.name.from picks`. */
  subject = 'the record',
): string {
  const failing = walk.filters.filter((filter) => !passes(filter, focus));
  if (failing.length > 0) {
    // What to do comes last, after everything the record lacks.
    const hint = failing.map((filter) => mrnSystemHint(filter, focus)).find((text) => text !== '') ?? '';
    return failing.map((filter) => describeFilter(filter, focus, subject)).join('. ') + hint;
  }
  const walked = walkedPaths(walk, focus);
  // Elements the value is read from first: those only tested in conditions may well be absent.
  const missing =
    walked.find((entry) => entry.present === 0 && !walk.conditionPaths.includes(entry.path)) ??
    walked.find((entry) => entry.present === 0);
  if (missing !== undefined) {
    const parent = missing.path.split('.').slice(0, -1).join('.');
    const count = parent === '' ? 0 : valuesAt(focus, parent).length;
    return parent !== '' && count > 0
      ? `${subject} has ${count} ${parent} but no ${missing.path}`
      : `${subject} has no ${missing.path}`;
  }
  if (result.length > 0) {
    return `the expression gives ${result.length} value(s) that are not text (${kindOf(result[0])}): read a text element`;
  }
  const found = walked.map((entry) => `${entry.path} (${entry.present})`).join(', ');
  return found === ''
    ? 'the expression gives no value on this record'
    : `${subject} has every element the expression walks (${found}), yet its conditions leave nothing`;
}

function passes(filter: MemberFilter, focus: unknown): boolean {
  return recordValues(filter, focus).some((value) => filter.wanted.includes(value));
}

function recordValues(filter: MemberFilter, focus: unknown): string[] {
  const path = filter.collection === '' ? filter.member : `${filter.collection}.${filter.member}`;
  const values = valuesAt(focus, path).filter((value): value is string => typeof value === 'string');
  return [...new Set(values)];
}

function describeFilter(filter: MemberFilter, focus: unknown, subject: string): string {
  const entries = filter.collection === '' ? 'entry' : filter.collection;
  const asked = filter.wantedSource.startsWith('%')
    ? `${filter.wantedSource} (${filter.wanted.join(', ')})`
    : filter.wantedSource;
  const wanted = `no ${entries} has a ${filter.member} ${filter.operator === 'in' ? 'in' : '='} ${asked}`;
  const absent = shallowestMissing(focus, filter.collection);
  if (absent !== undefined) return `${wanted}; ${subject} has no ${absent}`;
  const values = recordValues(filter, focus);
  if (values.length === 0)
    return `${wanted}; ${possessive(subject)} ${entries} entries have no ${filter.member}`;
  const quoted = values.slice(0, MAX_VALUES_QUOTED).join(', ');
  const more = values.length > MAX_VALUES_QUOTED ? ` (and ${values.length - MAX_VALUES_QUOTED} more)` : '';
  return `${wanted}; ${possessive(subject)} ${entries} ${plural(filter.member)}: ${quoted}${more}`;
}

const MR_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v2-0203';
/** A system URI that names itself an MRN or medical record number system. */
const MRN_LIKE = /mrn|medical[-_ ]?record|patient[-_ ]?(id|number)/i;

/**
 * For the profile's MRN systems: the record's identifier systems that look like this EHR's MRNs
 * (typed MR, or named like an MRN system), and where to name them. Empty when none does: the
 * engineer then has to find the EHR's MRN system elsewhere.
 */
function mrnSystemHint(filter: MemberFilter, focus: unknown): string {
  if (filter.wantedSource !== '%mrnSystems' || filter.member !== 'system') return '';
  const identifiers = valuesAt(focus, filter.collection).filter(
    (entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
  );
  const candidates = new Map<string, string>();
  for (const identifier of identifiers) {
    const system = identifier.system;
    if (typeof system !== 'string' || filter.wanted.includes(system) || candidates.has(system)) continue;
    const typedMr = valuesAt(identifier, 'type.coding').some((coding) => {
      const c = coding as { system?: unknown; code?: unknown };
      return c.code === 'MR' && (c.system === undefined || c.system === MR_TYPE_SYSTEM);
    });
    if (typedMr) candidates.set(system, 'typed MR');
    else if (MRN_LIKE.test(system)) candidates.set(system, 'named like an MRN system');
  }
  if (candidates.size === 0) return '';
  const listed = [...candidates].map(([system, why]) => `${system} (${why})`).join(', ');
  const it = candidates.size === 1 ? 'it' : 'the one that does';
  return `. If ${listed} holds this EHR's MRNs, add ${it} to identifiers.mrn.systems in profile.yaml`;
}

/** The first prefix of `path` (`communication`, then `communication.language`...) with no value. */
function shallowestMissing(focus: unknown, path: string): string | undefined {
  const parts = path === '' ? [] : path.split('.');
  for (let length = 1; length <= parts.length; length += 1) {
    const prefix = parts.slice(0, length).join('.');
    if (valuesAt(focus, prefix).length === 0) return prefix;
  }
  return undefined;
}

function possessive(subject: string): string {
  return subject === 'the record' ? "the record's" : `${subject}:`;
}

function plural(member: string): string {
  const last = member.split('.').pop() ?? member;
  return last.endsWith('s') ? last : `${last}s`;
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : typeof value;
}
