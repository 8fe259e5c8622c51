/**
 * The one pino root. PHI never reaches a log line, and path-based `redact` alone is known to miss
 * nested names, query strings and error messages, so three layers apply:
 *  1. call sites log references and ids only (`Patient/123`, operation ids), never bodies;
 *  2. serializers for `req` and `err` drop query strings and free-text error messages;
 *  3. `redact` censors the field names that carry PHI at the top level and two levels down, as a
 *     last net (pino paths have no recursive wildcard).
 * test/integration/phi-canary.int.test.ts proves it on normal and error paths;
 * test/unit/logger-redaction.test.ts feeds each net canaries on its own.
 */
import pino, { type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { Logger } from '../domain/ports';

const PHI_KEYS = [
  'name',
  'given',
  'family',
  'birthDate',
  'birthdate',
  'phone',
  'phones',
  'undialablePhones',
  'telecom',
  'email',
  'address',
  'line',
  'postalCode',
  'identifier',
  'mrn',
  'text',
  'note',
  'notes',
  'body',
  'query',
  'diagnostics',
  'authorization',
  'password',
  'token',
  'secret',
];

const REDACT_PATHS = [...PHI_KEYS, ...PHI_KEYS.map((k) => `*.${k}`), ...PHI_KEYS.map((k) => `*.*.${k}`)];

/** A path without its query string: FHIR searches carry names, birth dates and phone numbers. */
export function pathOnly(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  const q = url.indexOf('?');
  return q === -1 ? url : `${url.slice(0, q)}?[redacted]`;
}

interface RequestLike {
  readonly method?: string;
  readonly originalUrl?: string;
  readonly url?: string;
}

/** Errors are logged by kind and code; their messages may quote an EHR's text, so they are left out. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (err === null || typeof err !== 'object') return { type: typeof err };
  const e = err as { name?: unknown; code?: unknown; status?: unknown; retryable?: unknown; stack?: unknown };
  // The stack opens with the message, which may run over several lines: keep the frames only.
  const frames =
    typeof e.stack === 'string'
      ? e.stack
          .split('\n')
          .filter((line) => /^\s+at /.test(line))
          .slice(0, 7)
          .join('\n')
      : undefined;
  return {
    type: typeof e.name === 'string' ? e.name : (err.constructor as { name?: string } | undefined)?.name,
    code: typeof e.code === 'string' || typeof e.code === 'number' ? e.code : undefined,
    status: typeof e.status === 'number' ? e.status : undefined,
    retryable: typeof e.retryable === 'boolean' ? e.retryable : undefined,
    stack: frames,
  };
}

export interface LoggerOptions {
  readonly level: string;
  /** Tests pass a stream to capture output; production writes to stdout. */
  readonly destination?: DestinationStream;
  readonly base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions): Logger & { readonly pino: PinoLogger } {
  const root = pino(
    {
      level: options.level,
      base: { service: 'continuum', ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: {
        err: serializeError,
        error: serializeError,
        req: (req: RequestLike) => ({ method: req.method, path: pathOnly(req.originalUrl ?? req.url) }),
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
  return wrap(root);
}

function wrap(p: PinoLogger): Logger & { readonly pino: PinoLogger } {
  return {
    pino: p,
    info: (obj, msg) => {
      p.info(obj, msg);
    },
    warn: (obj, msg) => {
      p.warn(obj, msg);
    },
    error: (obj, msg) => {
      p.error(obj, msg);
    },
    debug: (obj, msg) => {
      p.debug(obj, msg);
    },
    child: (bindings) => wrap(p.child(bindings)),
  };
}
