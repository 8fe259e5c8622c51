/**
 * Turns whatever a FHIR call throws into the taxonomy. fhir-kit-client 1.x rejects with a plain
 * object `{response: {status, data}, config}` (2.x with an Error carrying the same fields); a
 * refused connection is `TypeError('fetch failed')` with `cause.code`; a deadline is an
 * AbortSignal `TimeoutError`. Recognised by shape, never by `instanceof`.
 */
import { ContinuumError } from '../../../src/domain/errors';
import type { OperationOutcome } from '../../../src/domain/fhir';
import { parseRetryAfter } from '../../../src/domain/retry-after';

/** OperationOutcome issue codes that mean "try again later" (Medplum answers 400 with these when its database is down). */
const TRANSIENT_ISSUE_CODES = new Set([
  'transient',
  'exception',
  'timeout',
  'throttled',
  'lock-error',
  'incomplete',
]);

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

interface ResponseShape {
  readonly status: number;
  readonly data: unknown;
}

interface HeadersLike {
  get(name: string): string | null;
}

function responseOf(error: unknown): ResponseShape | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const response = (error as { response?: unknown }).response;
  if (response === null || typeof response !== 'object') return undefined;
  const status = (response as { status?: unknown }).status;
  if (typeof status !== 'number') return undefined;
  return { status, data: (response as { data?: unknown }).data };
}

function headersOf(error: unknown): HeadersLike | undefined {
  const config = (error as { config?: { headers?: unknown } }).config;
  const headers = config?.headers;
  if (headers !== null && typeof headers === 'object' && typeof (headers as HeadersLike).get === 'function') {
    return headers as HeadersLike;
  }
  return undefined;
}

function causeCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function isOperationOutcome(data: unknown): data is OperationOutcome {
  return (
    data !== null &&
    typeof data === 'object' &&
    (data as { resourceType?: unknown }).resourceType === 'OperationOutcome'
  );
}

export function normalizeEhrError(error: unknown, connection: string): ContinuumError {
  if (error instanceof ContinuumError) return error;

  const response = responseOf(error);
  if (response) {
    const { status, data } = response;
    const outcome = isOperationOutcome(data) ? data : undefined;
    const issueCodes = outcome?.issue.map((i) => i.code) ?? [];
    const retryAfterSeconds = parseRetryAfter(headersOf(error)?.get('retry-after'));
    const base = { outcome, cause: error };
    if (status === 429) {
      return new ContinuumError('EHR_THROTTLED', {
        ...base,
        detail: `EHR ${connection} is throttling requests (429)`,
        retryAfterSeconds,
        extra: { ehrStatus: status },
      });
    }
    if (status === 401 || status === 403) {
      // Addressed to the gateway's own credentials, not to this request: every request of the
      // connection would meet the same answer, so it is an outage of the connection, never a verdict
      // on the write that happened to meet it. The token itself never appears here.
      return new ContinuumError('EHR_CREDENTIALS_REJECTED', {
        ...base,
        detail: `EHR ${connection} refused the connection's credentials (${status})`,
        extra: { ehrStatus: status },
      });
    }
    if (status >= 500 || issueCodes.some((c) => TRANSIENT_ISSUE_CODES.has(c))) {
      return new ContinuumError('EHR_UNAVAILABLE', {
        ...base,
        detail: `EHR ${connection} answered ${status}`,
        retryAfterSeconds,
        extra: { ehrStatus: status },
      });
    }
    if (status === 409 || status === 412) {
      return new ContinuumError('CONFLICT', {
        ...base,
        detail: `EHR ${connection} reports a version conflict (${status})`,
        extra: { ehrStatus: status },
      });
    }
    if (status === 404 || status === 410) {
      return new ContinuumError('NOT_FOUND', {
        ...base,
        detail: `EHR ${connection} has no such resource (${status})`,
        extra: { ehrStatus: status },
      });
    }
    return new ContinuumError('EHR_REJECTED', {
      ...base,
      detail: `EHR ${connection} rejected the request (${status})`,
      extra: { ehrStatus: status, issues: issueCodes },
    });
  }

  const name = error !== null && typeof error === 'object' ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ContinuumError('EHR_UNAVAILABLE', {
      cause: error,
      detail: `EHR ${connection} did not answer in time`,
      extra: { timeout: true },
    });
  }
  const code = causeCode(error);
  if (
    (code !== undefined && NETWORK_CODES.has(code)) ||
    (error instanceof TypeError && error.message === 'fetch failed')
  ) {
    return new ContinuumError('EHR_UNAVAILABLE', {
      cause: error,
      detail: `EHR ${connection} is unreachable (${code ?? 'network error'})`,
      extra: { network: code ?? 'unknown' },
    });
  }
  return new ContinuumError('INTERNAL', {
    cause: error,
    detail: `Unexpected failure calling EHR ${connection}`,
  });
}
