/**
 * Every error leaves as application/problem+json (RFC 9457) with our stable `code`, `retryable`
 * and the request id. Details are PHI-free by construction; unknown errors say nothing specific.
 */
import type { ErrorRequestHandler, Response } from 'express';
import { ContinuumError, isContinuumError } from '../domain/errors';
import type { Logger } from '../domain/ports';

const TYPE_BASE = 'https://continuum.dev/problems/';

export function problemBody(error: ContinuumError, requestId: string | undefined, instance?: string): object {
  return {
    type: `${TYPE_BASE}${error.code.toLowerCase().replace(/_/g, '-')}`,
    title: error.title,
    status: error.status,
    detail: error.detail ?? error.title,
    code: error.code,
    retryable: error.retryable,
    requestId,
    ...(instance ? { instance } : {}),
    ...(error.retryAfterSeconds !== undefined ? { retryAfterSeconds: error.retryAfterSeconds } : {}),
    ...(error.extra ?? {}),
  };
}

export function sendProblem(res: Response, error: ContinuumError): void {
  const requestId = res.locals.requestId as string | undefined;
  if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  res
    .status(error.status)
    .type('application/problem+json')
    .send(JSON.stringify(problemBody(error, requestId, res.req.path)));
}

/** What express, its router, body-parser and raw-body (all through http-errors) put on their errors. */
interface HttpLibraryError {
  readonly type?: unknown;
  readonly status?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
}

function clientStatusOf(error: HttpLibraryError): number | undefined {
  const status = typeof error.status === 'number' ? error.status : error.statusCode;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

/**
 * Translates the errors a client can cause in the libraries below the routes: body-parser's by
 * their `type`, the rest by their 4xx `status`. Their messages are never passed on: some echo
 * what the client sent.
 */
export function toContinuumError(error: unknown): ContinuumError {
  if (isContinuumError(error)) return error;
  const known = (typeof error === 'object' && error !== null ? error : {}) as HttpLibraryError;
  switch (known.type) {
    case 'entity.parse.failed':
      return new ContinuumError('MALFORMED_BODY', { detail: 'the body is not valid JSON' });
    case 'entity.too.large':
      return new ContinuumError('PAYLOAD_TOO_LARGE');
    case 'charset.unsupported':
    case 'encoding.unsupported':
      return new ContinuumError('UNSUPPORTED_MEDIA_TYPE', {
        detail: 'unsupported charset or content encoding',
      });
    case 'parameters.too.many':
      return new ContinuumError('PAYLOAD_TOO_LARGE', { detail: 'too many form parameters' });
    case 'querystring.parse.rangeError':
      return new ContinuumError('MALFORMED_BODY', { detail: 'the form is nested too deeply' });
    case 'request.aborted':
    case 'request.size.invalid':
      return new ContinuumError('MALFORMED_BODY', { detail: 'the body does not match its Content-Length' });
  }
  const status = clientStatusOf(known);
  if (status === undefined) {
    return new ContinuumError('INTERNAL', { cause: error, detail: 'an unexpected error occurred' });
  }
  // The router's decodeURIComponent of a path parameter.
  if (error instanceof URIError) {
    return new ContinuumError('VALIDATION', { detail: 'the URL path is not valid percent-encoding' });
  }
  // zlib's own errors (Z_DATA_ERROR, Z_BUF_ERROR...), which body-parser marks 400.
  if (typeof known.code === 'string' && known.code.startsWith('Z_')) {
    return new ContinuumError('MALFORMED_BODY', {
      detail: 'the body does not decode as its Content-Encoding says',
    });
  }
  if (status === 413) return new ContinuumError('PAYLOAD_TOO_LARGE');
  if (status === 415) return new ContinuumError('UNSUPPORTED_MEDIA_TYPE');
  return new ContinuumError('MALFORMED_BODY', { status, detail: 'the request could not be read' });
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = toContinuumError(error);
    const log = (res.locals.logger as Logger | undefined) ?? logger;
    // A refusal is the client's mistake, expected by design: one line, no stack to wade through.
    if (problem.status >= 500) log.error({ err: error, req }, 'request failed');
    else log.info({ req, status: problem.status, code: problem.code }, 'request refused');
    sendProblem(res, problem);
  };
}
