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

export interface TemplateLimits {
  /**
   * How long one evaluation may run, by the wall clock (JSONata's own guard): 1 s by default, far
   * above any real template. A running profile passes a longer one, since a starved machine's clock
   * runs on while the gateway waits for a core.
   */
  readonly timeLimitMs?: number;
}

/** Calls nested deeper than this are a recursion that does not end (a real template nests ~10). */
const MAX_DEPTH = 1000;
/** Templates typed in the workbench: evaluated as someone types, on the gateway's one thread. */
export const WORKBENCH_TEMPLATE_TIME_LIMIT_MS = 1_000;
/** A running profile's templates: only a template that never ends comes near this. */
export const RUNNING_TEMPLATE_TIME_LIMIT_MS = 10_000;

/** A template stopped for running too long or nesting too deep: it never ends, on any record. */
export class TemplateLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TemplateLimitError';
  }
}

export function compileTemplate(
  source: string,
  variables: readonly string[],
  limits: TemplateLimits = {},
): CompiledTemplate {
  const timeLimitMs = limits.timeLimitMs ?? WORKBENCH_TEMPLATE_TIME_LIMIT_MS;
  let expression: jsonata.Expression;
  try {
    // JSONata evaluates on promises that are already settled, so a template that never ends never
    // yields and no timer could stop it: its own guard, checked at every step, does.
    expression = jsonata(source, { timeout: timeLimitMs, stack: MAX_DEPTH });
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
    evaluate: async (input, bindings) => {
      try {
        return (await expression.evaluate(copy(input), copy(bindings) as Record<string, unknown>)) as unknown;
      } catch (error) {
        throw limitError(error, timeLimitMs) ?? error;
      }
    },
  };
}

/** JSONata's own guard errors (D1012 time, D1011 depth) in words that point at the likely cause. */
function limitError(error: unknown, timeLimitMs: number): TemplateLimitError | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'D1012')
    return new TemplateLimitError(`the template ran longer than ${timeLimitMs} ms (endless recursion?)`);
  if (code === 'D1011')
    return new TemplateLimitError(`the template nested deeper than ${MAX_DEPTH} calls (endless recursion?)`);
  return undefined;
}

function copy(value: unknown): unknown {
  return value === undefined ? undefined : structuredClone(value);
}
