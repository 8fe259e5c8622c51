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

interface BodyParserError {
  readonly type?: string;
  readonly status?: number;
}

/** express's body parsers throw errors with a `type`; translate the ones a client can cause. */
export function toContinuumError(error: unknown): ContinuumError {
  if (isContinuumError(error)) return error;
  const type = (error as BodyParserError | null)?.type;
  switch (type) {
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
    default:
      return new ContinuumError('INTERNAL', { cause: error, detail: 'an unexpected error occurred' });
  }
}

export function problemHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const problem = toContinuumError(error);
    const log = (res.locals.logger as Logger | undefined) ?? logger;
    if (problem.status >= 500) log.error({ err: error, req }, 'request failed');
    else log.info({ err: problem, req, status: problem.status }, 'request refused');
    sendProblem(res, problem);
  };
}
