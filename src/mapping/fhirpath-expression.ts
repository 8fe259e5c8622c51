import { compile, resolveInternalTypes } from 'fhirpath';
import type { UserInvocationTable } from 'fhirpath';
import * as r4 from 'fhirpath/fhir-context/r4';
import { messageOf } from './source-position';

/** A FHIRPath expression compiled once, evaluated many times; returns plain JSON values. */
export interface FhirPathExpression {
  readonly source: string;
  evaluate(focus: unknown, variables?: Readonly<Record<string, unknown>>): unknown[];
}

export class FhirPathCompileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirPathCompileError';
  }
}

export interface FhirPathOptions {
  /** The element the expression starts from, e.g. `Patient.telecom`; the whole resource when absent. */
  readonly base?: string;
  /** `%name` variables every evaluation gets (profile constants); per-call variables come on top. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Functions the profile may call besides FHIRPath's own, e.g. `e164()`. */
  readonly functions: UserInvocationTable;
}

export function compileFhirPath(source: string, options: FhirPathOptions): FhirPathExpression {
  // fhirpath.js attaches a hidden `__path__` to the objects it returns unless results stay internal;
  // resolving them afterwards copies instead, so the resource read is never touched.
  const evaluateOptions = { resolveInternalTypes: false, userInvocationTable: options.functions } as const;
  let run: ReturnType<typeof compile<typeof evaluateOptions>>;
  try {
    const path = options.base === undefined ? source : { base: options.base, expression: source };
    run = compile(path, r4, evaluateOptions);
  } catch (error) {
    throw new FhirPathCompileError(`FHIRPath does not compile: ${firstLine(error)}`);
  }
  return {
    source,
    evaluate(focus, variables = {}) {
      const result = resolveInternalTypes(run(focus, { ...options.constants, ...variables })) as unknown;
      return Array.isArray(result) ? (result as unknown[]) : [result];
    },
  };
}

export function firstLine(error: unknown): string {
  const message = messageOf(error);
  return message.split('\n')[0] ?? message;
}

/** FHIRPath's answer as a condition: exactly `true`; empty or anything else is false. */
export function isTrue(result: readonly unknown[]): boolean {
  return result.length === 1 && result[0] === true;
}
