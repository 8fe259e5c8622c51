/**
 * SMART scopes, v1 (`system/Patient.read`, `system/*.*`) and v2 (`system/Patient.rs`,
 * `system/*.cruds`, optionally `?param=value`): which requested scopes a registered client's allowed
 * ones cover. A request is granted the covered part of what it asked for, as SMART servers do.
 */

interface ParsedScope {
  readonly context: string;
  readonly type: string;
  /** Interactions as v2 letters: c, r, u, d, s. */
  readonly permissions: ReadonlySet<string>;
  readonly query: string;
}

const SCOPE = /^(patient|user|system)\/([A-Za-z]+|\*)\.([a-z*]+)(\?.*)?$/;
const V1_PERMISSIONS: Readonly<Record<string, string>> = { read: 'rs', write: 'cud', '*': 'cruds' };

function parse(scope: string): ParsedScope | undefined {
  const matched = SCOPE.exec(scope);
  if (matched === null) return undefined;
  const [, context = '', type = '', perms = '', query = ''] = matched;
  const letters = V1_PERMISSIONS[perms] ?? perms;
  // v2 letters come in the order c, r, u, d, s, each at most once.
  if (!/^c?r?u?d?s?$/.test(letters) || letters === '') return undefined;
  return { context, type, permissions: new Set(letters), query };
}

function covers(allowed: string, requested: string): boolean {
  if (allowed === requested) return true;
  const a = parse(allowed);
  const r = parse(requested);
  if (a === undefined || r === undefined) return false;
  if (a.context !== r.context) return false;
  if (a.type !== '*' && a.type !== r.type) return false;
  // A narrowed allowance (`?category=...`) covers only the same narrowing.
  if (a.query !== '' && a.query !== r.query) return false;
  return [...r.permissions].every((p) => a.permissions.has(p));
}

/** The requested scopes the allowed ones cover, in the order asked; with none asked, all the allowed. */
export function grantScopes(requested: string | undefined, allowed: readonly string[]): string[] {
  const asked = (requested ?? '').split(' ').filter((s) => s !== '');
  if (asked.length === 0) return [...allowed];
  return [...new Set(asked)].filter((scope) => allowed.some((a) => covers(a, scope)));
}
