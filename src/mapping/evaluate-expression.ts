/**
 * One expression, as typed in the workbench, run on a record with the profile's constants and
 * functions. Errors come back as data with a line and column, so a page can mark the spot while
 * the engineer types; nothing here throws for a bad expression.
 */
import jsonata from 'jsonata';
import type { UserInvocationTable } from 'fhirpath';
import type { EvaluateOutcome, ExpressionError, RuleLanguage } from '../domain/mapping-workbench';
import { valuesAt } from './empty-field-reason';
import { compileFhirPath, firstLine } from './fhirpath-expression';
import { compileTemplate, WORKBENCH_TEMPLATE_TIME_LIMIT_MS } from './jsonata-template';

export interface ExpressionRequest {
  readonly language: RuleLanguage;
  readonly source: string;
  /** FHIRPath: where the expression starts (`Patient.name`); it runs on each element there. */
  readonly base?: string;
  /** JSONata: the template's `$value` (and input); the record when absent. */
  readonly value?: unknown;
}

export interface ExpressionContext {
  readonly constants: Readonly<Record<string, unknown>>;
  readonly functions: UserInvocationTable;
  /** The element a base starts from when the profile picks one (`Patient.name`: read.name.from's pick). */
  readonly picked?: (base: string) => unknown;
}

/** The variables templates get from the engine, besides the profile constants (as the loader binds them). */
const TEMPLATE_VARIABLES = ['value', 'existing', 'index'];

export async function evaluateExpression(
  request: ExpressionRequest,
  resource: unknown,
  context: ExpressionContext,
): Promise<EvaluateOutcome> {
  return request.language === 'fhirpath'
    ? evaluateFhirPath(request, resource, context)
    : evaluateJsonata(request, resource, context);
}

function evaluateFhirPath(
  request: ExpressionRequest,
  resource: unknown,
  context: ExpressionContext,
): EvaluateOutcome {
  let expression;
  try {
    expression = compileFhirPath(request.source, {
      constants: context.constants,
      functions: context.functions,
      ...(request.base === undefined ? {} : { base: request.base }),
    });
  } catch (error) {
    return { result: null, error: fhirPathError(error) };
  }
  try {
    if (request.base === undefined) return { result: expression.evaluate(resource) };
    const picked = context.picked?.(request.base);
    if (picked !== undefined) return { result: expression.evaluate(picked) };
    // A write selector runs on each entry: one result per entry, in order.
    const path = request.base.split('.').slice(1).join('.');
    return { result: valuesAt(resource, path).map((entry) => expression.evaluate(entry)) };
  } catch (error) {
    return { result: null, error: { message: firstLine(error) } };
  }
}

async function evaluateJsonata(
  request: ExpressionRequest,
  resource: unknown,
  context: ExpressionContext,
): Promise<EvaluateOutcome> {
  // The loader's compile also refuses unknown variables; parsing here first keeps the position.
  try {
    jsonata(request.source);
  } catch (error) {
    return { result: null, error: jsonataError(request.source, error) };
  }
  let template;
  try {
    template = compileTemplate(request.source, [...TEMPLATE_VARIABLES, ...Object.keys(context.constants)], {
      timeLimitMs: WORKBENCH_TEMPLATE_TIME_LIMIT_MS,
    });
  } catch (error) {
    return { result: null, error: { message: firstLine(error) } };
  }
  const value = request.value ?? resource;
  try {
    const output = await template.evaluate(value, {
      ...context.constants,
      value,
      existing: undefined,
      index: 0,
    });
    // Through JSON, as the engine does: sequence flags and undefined members drop out.
    return { result: output === undefined ? null : (JSON.parse(JSON.stringify(output)) as unknown) };
  } catch (error) {
    return { result: null, error: jsonataError(request.source, error) };
  }
}

/** fhirpath.js says `line: L; column: C; message: M`. */
function fhirPathError(error: unknown): ExpressionError {
  const message = error instanceof Error ? error.message : String(error);
  const match = /line: (\d+); column: (\d+); message: (.*)/s.exec(message);
  if (match === null) return { message: firstLine(error) };
  return { message: firstLine(match[3]), line: Number(match[1]), column: Number(match[2]) + 1 };
}

/** JSONata errors are plain objects with a message and a character position (1-based, end of token). */
export function jsonataError(source: string, error: unknown): ExpressionError {
  const detail = error as { message?: unknown; position?: unknown; code?: unknown } | null;
  const text = typeof detail?.message === 'string' ? detail.message : firstLine(error);
  const message = typeof detail?.code === 'string' ? `${text} (${detail.code})` : text;
  if (typeof detail?.position !== 'number') return { message };
  return { message, ...lineAndColumn(source, detail.position) };
}

function lineAndColumn(source: string, position: number): { line: number; column: number } {
  const before = source.slice(0, Math.max(0, position));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1] ?? '').length };
}
