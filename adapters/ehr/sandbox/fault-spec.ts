import type { FaultMode } from './fault-mode';
import { FaultModeError, parseFaultMode } from './fault-mode';

export const FAULT_SPEC_FORMS =
  'up, down[:refuse|http503|http429[:retryAfterSeconds]|http401|http403], slow:latencyMs[:jitterMs], ' +
  'flaky:failureRate[:afterCommitRate], capacity:concurrent:latencyMs[:queueDepth[:retryAfterSeconds]], ' +
  'or a JSON object such as {"mode":"flaky","failureRate":0.3,"seed":7}';

export class FaultSpecError extends Error {
  constructor(spec: string, reason: string) {
    super(`invalid fault spec "${spec}": ${reason}; expected ${FAULT_SPEC_FORMS}`);
    this.name = 'FaultSpecError';
  }
}

/**
 * The command line's short form of a fault mode (`down:http503`, `slow:800`, `flaky:0.3:0.5`, `capacity:16:40`), or the full
 * JSON form for everything else (seed, paths, duration). Errors name the part that is wrong.
 */
export function parseFaultSpec(spec: string): FaultMode {
  const text = spec.trim();
  try {
    return parseFaultMode(text.startsWith('{') ? parseJson(spec, text) : fromShortForm(spec, text));
  } catch (error) {
    if (error instanceof FaultModeError) {
      throw new FaultSpecError(spec, error.message);
    }
    throw error;
  }
}

function parseJson(spec: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new FaultSpecError(spec, 'not valid JSON');
  }
}

function fromShortForm(spec: string, text: string): Record<string, unknown> {
  const [mode = '', ...args] = text.split(':');
  const arity = (max: number): void => {
    if (args.length > max) {
      throw new FaultSpecError(spec, `${mode} takes at most ${String(max)} value(s) after the colon`);
    }
  };
  const number = (index: number, name: string): number | undefined => {
    const raw = args[index];
    if (raw === undefined) {
      return undefined;
    }
    const value = raw.trim() === '' ? Number.NaN : Number(raw);
    if (!Number.isFinite(value)) {
      throw new FaultSpecError(spec, `${name} must be a number, got "${raw}"`);
    }
    return value;
  };
  const required = (index: number, name: string): number => {
    const value = number(index, name);
    if (value === undefined) {
      throw new FaultSpecError(spec, `${mode} needs ${name}`);
    }
    return value;
  };
  switch (mode) {
    case 'up':
      arity(0);
      return { mode };
    case 'down': {
      arity(2);
      const kind = args[0];
      const retryAfterSeconds = number(1, 'retryAfterSeconds');
      return {
        mode,
        ...(kind !== undefined ? { kind } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    }
    case 'slow': {
      arity(2);
      const jitterMs = number(1, 'jitterMs');
      return { mode, latencyMs: required(0, 'latencyMs'), ...(jitterMs !== undefined ? { jitterMs } : {}) };
    }
    case 'flaky': {
      arity(2);
      const afterCommitRate = number(1, 'afterCommitRate');
      return {
        mode,
        failureRate: required(0, 'failureRate'),
        ...(afterCommitRate !== undefined ? { afterCommitRate } : {}),
      };
    }
    case 'capacity': {
      arity(4);
      const queueDepth = number(2, 'queueDepth');
      const retryAfterSeconds = number(3, 'retryAfterSeconds');
      return {
        mode,
        concurrent: required(0, 'concurrent'),
        latencyMs: required(1, 'latencyMs'),
        ...(queueDepth !== undefined ? { queueDepth } : {}),
        ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
      };
    }
    default:
      throw new FaultSpecError(spec, `unknown mode "${mode}"`);
  }
}
