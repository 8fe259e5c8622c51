/**
 * What a FHIRPath read rule walks, read off fhirpath.js's parse tree: the element paths it steps
 * through (`identifier`, `identifier.value`) and the filters it puts on coded members
 * (`where(system in %mrnSystems)`). Explain uses them to say why a field came out empty, in terms an
 * engineer can check against the record. fhirpath.js only evaluates; this walk of its tree is ours
 * because no library answers "which filter excluded everything".
 */
import { parse } from 'fhirpath';

/** A `where` condition comparing a coded member of each entry with wanted values. */
export interface MemberFilter {
  /** Element path of the entries filtered, relative to the focus, e.g. `identifier`, `identifier.type.coding`. */
  readonly collection: string;
  /** Member compared, relative to each entry, e.g. `system`. */
  readonly member: string;
  readonly operator: '=' | '~' | 'in';
  /** The values asked for. */
  readonly wanted: readonly string[];
  /** How the expression names them: `'email'` or `%mrnSystems`. */
  readonly wantedSource: string;
}

export interface FhirPathWalk {
  /** Element paths stepped through, relative to the focus, in the order first met. */
  readonly paths: readonly string[];
  /** Of those, the ones only met inside conditions (`where(use != 'old')`): a record may well lack them. */
  readonly conditionPaths: readonly string[];
  readonly filters: readonly MemberFilter[];
}

/** The coded members whose filters explain an empty field best: what the record has vs what is asked. */
const CODED_MEMBERS = new Set(['system', 'use', 'code', 'url']);

interface Node {
  readonly type: string;
  readonly text?: string;
  readonly children?: readonly Node[];
}

/** Functions whose result is (part of) their input: the element path stays that of the input. */
const KEEPS_INPUT = new Set([
  'first',
  'last',
  'tail',
  'skip',
  'take',
  'single',
  'distinct',
  'ofType',
  'as',
  'trace',
  'e164',
  'intersect',
  'exclude',
]);

export function walkFhirPath(source: string, constants: Readonly<Record<string, unknown>>): FhirPathWalk {
  const paths: string[] = [];
  const filters: MemberFilter[] = [];
  const variables = new Map<string, string[]>();
  const valuePaths = new Set<string>();
  const step = (collection: string, member: string, inCondition: boolean): string => {
    const path = collection === '' ? member : `${collection}.${member}`;
    if (!paths.includes(path)) paths.push(path);
    if (!inCondition) valuePaths.add(path);
    return path;
  };
  const child = (node: Node, index: number): Node | undefined => node.children?.[index];

  /** The element paths `node` yields, `scope` being the paths of `$this`; `where` = the entries filtered. */
  const visit = (node: Node | undefined, scope: readonly string[], where?: readonly string[]): string[] => {
    if (node === undefined) return [];
    switch (node.type) {
      case 'EntireExpression':
      case 'TermExpression':
      case 'InvocationTerm':
      case 'ParenthesizedTerm':
        return visit(child(node, 0), scope, where);
      case 'MemberInvocation': {
        const name = node.text ?? '';
        // `Patient.name`: a leading type name is the focus itself.
        if (/^[A-Z]/.test(name)) return [...scope];
        return scope.map((path) => step(path, name, where !== undefined));
      }
      case 'ThisInvocation':
        return [...scope];
      case 'FunctionInvocation':
        // A function at the start of a chain works on `$this`.
        return invoke(node, [...scope], scope);
      case 'ExternalConstantTerm': {
        const name = (node.text ?? '').replace(/^%/, '');
        if (name === 'resource' || name === 'context' || name === 'rootResource') return [''];
        return variables.get(name) ?? [];
      }
      case 'InvocationExpression': {
        const input = visit(child(node, 0), scope, where);
        const next = child(node, 1);
        if (next?.type === 'MemberInvocation') {
          return input.map((path) => step(path, next.text ?? '', where !== undefined));
        }
        if (next?.type === 'FunctionInvocation') return invoke(next, input, scope);
        return [];
      }
      case 'IndexerExpression':
        visit(child(node, 1), scope);
        return visit(child(node, 0), scope, where);
      case 'UnionExpression':
        return union(visit(child(node, 0), scope, where), visit(child(node, 1), scope, where));
      case 'TypeExpression': {
        const input = visit(child(node, 0), scope, where);
        return node.text === 'as' ? input : [];
      }
      case 'EqualityExpression':
      case 'MembershipExpression':
        if (where !== undefined) noteFilter(node, where);
        visit(child(node, 0), scope, where);
        visit(child(node, 1), scope, where);
        return [];
      default:
        for (const part of node.children ?? []) visit(part, scope, where);
        return [];
    }
  };

  const invoke = (call: Node, input: string[], scope: readonly string[]): string[] => {
    const functn = child(call, 0);
    const name = call.text ?? '';
    const params = child(functn ?? { type: '' }, 1)?.children ?? [];
    switch (name) {
      case 'where':
        visit(params[0], input, input);
        return input;
      case 'select':
      case 'repeat':
        return visit(params[0], input);
      case 'exists':
      case 'all':
        visit(params[0], input, input);
        return [];
      case 'combine':
      case 'union':
        return union(input, visit(params[0], scope));
      case 'defineVariable': {
        const variable = literalText(params[0]);
        if (variable !== undefined) variables.set(variable, params[1] ? visit(params[1], input) : input);
        return input;
      }
      case 'iif':
        visit(params[0], input);
        return union(visit(params[1], input), visit(params[2], input));
      default:
        for (const param of params) visit(param, scope);
        return KEEPS_INPUT.has(name) ? input : [];
    }
  };

  const noteFilter = (comparison: Node, entries: readonly string[]): void => {
    const operator = comparison.text;
    const [left, right] = [child(comparison, 0), child(comparison, 1)];
    const sides:
      { member: Node | undefined; value: Node | undefined; operator: MemberFilter['operator'] } | undefined =
      operator === 'contains'
        ? { member: right, value: left, operator: 'in' }
        : operator === '=' || operator === '~' || operator === 'in'
          ? { member: left, value: right, operator }
          : undefined;
    if (sides === undefined) return;
    const member = memberPath(sides.member);
    const wanted = wantedValues(sides.value, constants);
    if (member === undefined || wanted === undefined) return;
    if (!CODED_MEMBERS.has(member.split('.').pop() ?? '')) return;
    for (const collection of entries) {
      const filter = { collection, member, operator: sides.operator, ...wanted };
      const same = filters.some(
        (known) =>
          known.collection === filter.collection &&
          known.member === filter.member &&
          known.wantedSource === filter.wantedSource,
      );
      if (!same) filters.push(filter);
    }
  };

  visit(parse(source) as Node, ['']);
  return { paths, conditionPaths: paths.filter((path) => !valuePaths.has(path)), filters };
}

function union(a: readonly string[], b: readonly string[]): string[] {
  return [...new Set([...a, ...b])];
}

/** `system`, `type.coding.system`, `$this.use`: a plain chain of members, else undefined. */
function memberPath(node: Node | undefined): string | undefined {
  if (node === undefined) return undefined;
  switch (node.type) {
    case 'TermExpression':
    case 'InvocationTerm':
      return memberPath(node.children?.[0]);
    case 'MemberInvocation':
      return node.text;
    case 'InvocationExpression': {
      const [head, tail] = [node.children?.[0], node.children?.[1]];
      if (tail?.type !== 'MemberInvocation') return undefined;
      if (head?.type === 'TermExpression' && head.children?.[0]?.children?.[0]?.type === 'ThisInvocation') {
        return tail.text;
      }
      const before = memberPath(head);
      return before === undefined ? undefined : `${before}.${tail.text ?? ''}`;
    }
    default:
      return undefined;
  }
}

/** A string literal or a `%constant` holding strings: the values a filter asks for. */
function wantedValues(
  node: Node | undefined,
  constants: Readonly<Record<string, unknown>>,
): { wanted: string[]; wantedSource: string } | undefined {
  const literal = literalText(node);
  if (literal !== undefined) return { wanted: [literal], wantedSource: `'${literal}'` };
  const term = node?.type === 'TermExpression' ? node.children?.[0] : node;
  if (term?.type !== 'ExternalConstantTerm') return undefined;
  const name = (term.text ?? '').replace(/^%/, '');
  const value = constants[name];
  const values = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
  return values.length === 0 ? undefined : { wanted: values, wantedSource: `%${name}` };
}

function literalText(node: Node | undefined): string | undefined {
  const term = node?.type === 'TermExpression' ? node.children?.[0] : node;
  if (term?.type !== 'LiteralTerm' || term.children?.[0]?.type !== 'StringLiteral') return undefined;
  const text = term.text ?? '';
  return text.slice(1, -1).replace(/\\(.)/g, '$1');
}
