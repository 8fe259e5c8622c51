/**
 * A write template: a JSONata expression that builds one FHIR fragment. The jsonata library parses
 * and evaluates it; syntax errors surface when the profile loads, with the file and field.
 */
import jsonata from 'jsonata';
import { jsonataPosition, messageOf } from './source-position';

export interface CompiledTemplate {
  readonly source: string;
  evaluate(input: unknown, bindings: Readonly<Record<string, unknown>>): Promise<unknown>;
}

interface AstNode {
  readonly type?: string;
  readonly value?: unknown;
  readonly procedure?: AstNode;
  readonly lhs?: AstNode | AstNode[];
  readonly arguments?: AstNode[];
  readonly [key: string]: unknown;
}

/**
 * Variables a template reads without binding them itself. JSONata quietly treats an unknown
 * variable as "nothing", so a typo (`$exisitng`) would silently drop data; it is refused at load.
 */
function unboundVariables(ast: AstNode, provided: ReadonlySet<string>): string[] {
  const used = new Set<string>();
  const bound = new Set<string>(provided);
  const walk = (node: unknown, asProcedure = false): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item);
      return;
    }
    if (node === null || typeof node !== 'object') return;
    const n = node as AstNode;
    if (n.type === 'variable' && typeof n.value === 'string' && !asProcedure) used.add(n.value);
    if (n.type === 'bind' && n.lhs && !Array.isArray(n.lhs) && typeof n.lhs.value === 'string')
      bound.add(n.lhs.value);
    if (n.type === 'lambda')
      for (const arg of n.arguments ?? []) if (typeof arg.value === 'string') bound.add(arg.value);
    for (const [key, value] of Object.entries(n)) {
      if (key === 'procedure') walk(value, true);
      else if (typeof value === 'object') walk(value);
    }
  };
  walk(ast);
  // `$` is the context and `$$` the root: always bound.
  return [...used].filter((name) => name !== '' && name !== '$' && !bound.has(name));
}

export function compileTemplate(source: string, variables: readonly string[]): CompiledTemplate {
  let expression: jsonata.Expression;
  try {
    expression = jsonata(source);
  } catch (error) {
    const at = jsonataPosition(error, source);
    const where = at === undefined ? '' : ` (template line ${at.line}, column ${at.column})`;
    throw new Error(`JSONata does not compile: ${messageOf(error)}${where}`);
  }
  const unbound = unboundVariables(expression.ast() as AstNode, new Set(variables));
  if (unbound.length > 0) throw new Error(`unknown variable ${unbound.map((v) => `$${v}`).join(', ')}`);
  return {
    source,
    // jsonata marks the arrays it walks (sequence flags): hand it copies, so the caller's change
    // and resource stay untouched.
    evaluate: (input, bindings) =>
      expression.evaluate(copy(input), copy(bindings) as Record<string, unknown>),
  };
}

function copy(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value);
}
