/**
 * Checks every member a FHIRPath expression names against the FHIR R4 definitions fhirpath ships
 * (`fhirpath/fhir-context/r4`), so a misspelled element is a load error instead of a field that is
 * silently always empty. The walk follows the type through member chains and the functions that
 * keep or pick their input (where, first, combine, select, ofType ...). Wherever the type cannot be
 * known (after resolve(), %variables, choice-type values, functions returning something else) it
 * stops checking: a lint that cries wolf on a working profile is worse than none.
 */
import { parse } from 'fhirpath';
import * as r4 from 'fhirpath/fhir-context/r4';

export interface FhirPathLintProblem {
  /** The member as written, e.g. `gendr`. */
  readonly name: string;
  /** What it was looked up on, e.g. `Patient`, `HumanName`, `Appointment.participant`. */
  readonly on: string;
  /** The real element with the smallest edit distance, if the type has any. */
  readonly nearest: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly message: string;
}

interface AstNode {
  readonly type: string;
  readonly text?: string;
  readonly atRoot?: number;
  readonly start?: { readonly line: number; readonly column: number };
  readonly children?: readonly AstNode[];
}

/**
 * What a collection holds, as places in the R4 model: a type name (`HumanName`, `Patient`) or, for a
 * backbone element that only exists inside its resource, its path (`Appointment.participant`).
 * `undefined` means unknown: nothing is checked on it.
 */
type Known = readonly string[];
type Shape = Known | undefined;

const path2Type = r4.path2Type as Readonly<Record<string, string | undefined>>;
const type2Parent = r4.type2Parent as Readonly<Record<string, string | undefined>>;
const choiceTypePaths = r4.choiceTypePaths as Readonly<Record<string, readonly string[] | undefined>>;
const definedElsewhere = r4.pathsDefinedElsewhere as Readonly<Record<string, string | undefined>>;

/** Functions whose result is (a part of) their input, so the type carries through. */
const KEEPS_INPUT = new Set([
  'where',
  'first',
  'last',
  'tail',
  'skip',
  'take',
  'single',
  'distinct',
  'intersect',
  'exclude',
  'trace',
  'sort',
  'defineVariable',
]);
/** Functions whose first argument is evaluated once per input item, with `$this` that item. */
const PER_ITEM = new Set([
  'where',
  'select',
  'exists',
  'all',
  'repeat',
  'aggregate',
  'iif',
  'sort',
  'coalesce',
]);
/** Functions whose later arguments are also evaluated on the input (`trace('x', expr)`). */
const PER_ITEM_AFTER_FIRST = new Set(['trace', 'defineVariable']);
const UNIONS = new Set(['combine', 'union']);
const TYPE_FILTERS = new Set(['ofType', 'as']);
/** Functions whose argument names a type (`ofType(dateTime)`, `is(FHIR.string)`), never an element. */
const TYPE_ARGUMENT = new Set([...TYPE_FILTERS, 'is']);

/** Lints `source`, evaluated on `base` (`Patient`, `Patient.name`, `Appointment`...). */
export function lintFhirPath(source: string, base: string): FhirPathLintProblem[] {
  let ast: AstNode;
  try {
    ast = parse(source) as AstNode;
  } catch {
    // Compiling reports syntax errors with their position; nothing to add here.
    return [];
  }
  const start = shapeOfPath(base);
  const problems: FhirPathLintProblem[] = [];
  walk(ast, start, start, problems);
  return problems;
}

/**
 * The shape of `node` evaluated with `input` as its input collection; `self` is `$this` (the item of
 * the innermost where/select, or the base), which is also what function arguments start from.
 */
function walk(node: AstNode, input: Shape, self: Shape, problems: FhirPathLintProblem[]): Shape {
  const children = node.children ?? [];
  const [first, second] = children;
  switch (node.type) {
    case 'EntireExpression':
    case 'TermExpression':
    case 'InvocationTerm':
    case 'ParenthesizedTerm':
      return first === undefined ? undefined : walk(first, input, self, problems);
    case 'InvocationExpression': {
      if (first === undefined || second === undefined) return undefined;
      const left = walk(first, input, self, problems);
      return walk(second, left, self, problems);
    }
    case 'IndexerExpression': {
      if (first === undefined) return undefined;
      const collection = walk(first, input, self, problems);
      if (second !== undefined) walk(second, input, self, problems);
      return collection;
    }
    case 'UnionExpression': {
      const shapes = children.map((child) => walk(child, input, self, problems));
      return union(shapes);
    }
    case 'TypeExpression': {
      if (first === undefined) return undefined;
      walk(first, input, self, problems);
      return node.text === 'as' && second !== undefined ? shapeOfType(typeName(second)) : undefined;
    }
    case 'MemberInvocation':
      return member(node, input, problems);
    case 'FunctionInvocation':
      return first === undefined ? undefined : invoke(first, input, self, problems);
    case 'ThisInvocation':
      return self;
    default:
      // Operators, literals, %variables, $index/$total: check their operands, know nothing of the result.
      for (const child of children) walk(child, input, self, problems);
      return undefined;
  }
}

function invoke(functn: AstNode, input: Shape, self: Shape, problems: FhirPathLintProblem[]): Shape {
  const [identifier, params] = functn.children ?? [];
  const name = identifier?.text ?? '';
  const args = params?.children ?? [];
  if (TYPE_ARGUMENT.has(name)) {
    return TYPE_FILTERS.has(name) && args[0] !== undefined ? shapeOfType(typeName(args[0])) : undefined;
  }
  const argShapes = args.map((arg, index) => {
    const perItem = index === 0 ? PER_ITEM.has(name) : PER_ITEM_AFTER_FIRST.has(name) || name === 'iif';
    return perItem ? walk(arg, input, input, problems) : walk(arg, self, self, problems);
  });
  if (KEEPS_INPUT.has(name)) return input;
  if (UNIONS.has(name)) return union([input, argShapes[0]]);
  if (name === 'select') return argShapes[0];
  if (name === 'extension') return ['Extension'];
  // resolve(), children(), e164(), conversions, booleans...: the result is not a model element we follow.
  return undefined;
}

function member(node: AstNode, input: Shape, problems: FhirPathLintProblem[]): Shape {
  const name = unquote(node.children?.[0]?.text ?? node.text ?? '');
  if (input === undefined || name === '') return undefined;
  // `Patient.name`, `select(Coding.code)`: a type name at the start is a filter on the type, and
  // FHIR element names never start with a capital.
  if (/^[A-Z]/.test(name)) {
    return node.atRoot !== undefined && input.some((place) => typeOf(place) === name) ? input : undefined;
  }
  const found: string[] = [];
  let unknown = false;
  for (const place of input) {
    const result = lookUp(place, name);
    if (result === 'unknown') unknown = true;
    else if (result !== undefined) found.push(...result);
  }
  if (unknown) return undefined;
  if (found.length > 0) return [...new Set(found)];
  const on = input[0] ?? '';
  const nearest = closest(
    name,
    input.flatMap((place) => elementsOf(place)),
  );
  problems.push({
    name,
    on,
    nearest,
    line: node.start?.line,
    column: node.start?.column,
    message: `'${name}' is not an element of ${on}${nearest === undefined ? '' : ` (did you mean '${nearest}'?)`}`,
  });
  return undefined;
}

/** The places a member leads to, `'unknown'` when it exists but cannot be followed, else undefined. */
function lookUp(place: string, name: string): Known | 'unknown' | undefined {
  if (place.startsWith('System.') || isAbstract(place)) return 'unknown';
  for (const prefix of prefixesOf(place)) {
    const path = `${prefix}.${name}`;
    if (choiceTypePaths[path] !== undefined) return 'unknown';
    if (path2Type[path] !== undefined) return shapeOfPath(path) ?? 'unknown';
  }
  return undefined;
}

/** Where a place's elements are listed: its own path or type, then the types it derives from. */
function prefixesOf(place: string): string[] {
  const prefixes: string[] = [];
  let type: string | undefined = place;
  if (place.includes('.')) {
    prefixes.push(definedElsewhere[place] ?? place);
    type = path2Type[place];
  }
  while (type !== undefined && !prefixes.includes(type)) {
    prefixes.push(type);
    type = type2Parent[type];
  }
  return prefixes;
}

/** The element names a place has, for suggestions (`value[x]` offered as `value`). */
function elementsOf(place: string): string[] {
  const names = new Set<string>();
  for (const prefix of prefixesOf(place)) {
    for (const key of [...Object.keys(path2Type), ...Object.keys(choiceTypePaths)]) {
      if (!key.startsWith(`${prefix}.`)) continue;
      const rest = key.slice(prefix.length + 1);
      if (!rest.includes('.')) names.add(rest);
    }
  }
  return [...names];
}

function shapeOfPath(path: string): Shape {
  if (!path.includes('.')) return shapeOfType(path);
  const type = path2Type[path];
  if (type === undefined) return undefined;
  // Backbone elements have no type of their own: their elements are listed under their path.
  return type === 'BackboneElement' || type === 'Element' ? [path] : shapeOfType(type);
}

function shapeOfType(type: string | undefined): Shape {
  if (type === undefined || type.startsWith('System.') || isAbstract(type)) return undefined;
  return type2Parent[type] !== undefined ? [type] : undefined;
}

/** Resource and DomainResource stand for any resource (contained ones): their members vary. */
function isAbstract(type: string): boolean {
  return type === 'Resource' || type === 'DomainResource';
}

function typeOf(place: string): string | undefined {
  return place.includes('.') ? path2Type[place] : place;
}

function union(shapes: readonly Shape[]): Shape {
  if (shapes.some((shape) => shape === undefined)) return undefined;
  return [...new Set(shapes.flatMap((shape) => shape ?? []))];
}

/**
 * `FHIR.HumanName` or `HumanName` from a type specifier; the FHIR namespace is dropped. A System type
 * (`System.String`) is no model element: `System.` is kept so nothing is followed on it.
 */
function typeName(node: AstNode): string | undefined {
  const parts = textOf(node).split('.').map(unquote);
  const name = parts.pop();
  if (name === undefined || name === '') return undefined;
  return parts[0] === 'System' ? `System.${name}` : name;
}

function textOf(node: AstNode): string {
  if (node.type === 'Identifier') return node.text ?? '';
  return (node.children ?? [])
    .map(textOf)
    .filter((part) => part !== '')
    .join('.');
}

function unquote(name: string): string {
  return name.startsWith('`') && name.endsWith('`') ? name.slice(1, -1) : name;
}

function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * Levenshtein distance. Written here because none of our dependencies exports one (the copies in
 * node_modules come with dev tools), and a two-row loop is smaller than a new dependency.
 */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
