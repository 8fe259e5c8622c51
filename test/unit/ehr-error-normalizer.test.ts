import { normalizeEhrError } from '../../adapters/ehr/fhir-r4/ehr-error-normalizer';
import { isEhrUnavailable } from '../../src/domain/errors';
import { parseRetryAfter } from '../../src/domain/retry-after';

const headers = (values: Record<string, string>) => ({
  get: (name: string) => values[name.toLowerCase()] ?? null,
});
const outcome = (code: string) => ({
  resourceType: 'OperationOutcome',
  issue: [{ severity: 'error', code }],
});

describe('EHR error normalisation', () => {
  it('reads fhir-kit-client 1.x plain-object rejections (no Error, no stack)', () => {
    const error = normalizeEhrError(
      { response: { status: 422, data: outcome('invalid') }, config: {} },
      'epic',
    );
    expect(error.code).toBe('EHR_REJECTED');
    expect(error.retryable).toBe(false);
    expect(error.outcome).toEqual(outcome('invalid'));
  });

  it('reads fhir-kit-client 2.x Error rejections carrying the same fields', () => {
    const thrown = Object.assign(new Error('Request failed'), {
      response: { status: 503, data: {} },
      config: {},
    });
    const error = normalizeEhrError(thrown, 'epic');
    expect(error.code).toBe('EHR_UNAVAILABLE');
    expect(error.retryable).toBe(true);
  });

  it('treats a refused or reset connection and a deadline as an unavailable EHR, to be retried', () => {
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    const reset = new TypeError('fetch failed', {
      cause: Object.assign(new Error('socket'), { code: 'ECONNRESET' }),
    });
    const timeout = Object.assign(new Error('The operation was aborted due to timeout'), {
      name: 'TimeoutError',
    });
    for (const thrown of [refused, reset, timeout]) {
      const error = normalizeEhrError(thrown, 'epic');
      expect(error.code).toBe('EHR_UNAVAILABLE');
      expect(error.retryable).toBe(true);
    }
  });

  it('honours Retry-After on 429 and treats 429 without it as retryable too', () => {
    const throttled = normalizeEhrError(
      { response: { status: 429, data: {} }, config: { headers: headers({ 'retry-after': '7' }) } },
      'epic',
    );
    expect(throttled.code).toBe('EHR_THROTTLED');
    expect(throttled.retryAfterSeconds).toBe(7);
    const bare = normalizeEhrError({ response: { status: 429, data: {} }, config: {} }, 'epic');
    expect(bare.retryable).toBe(true);
    expect(bare.retryAfterSeconds).toBeUndefined();
  });

  it("treats 401 and 403 as a refusal of the connection's credentials: an outage, never a verdict on the request", () => {
    for (const [status, code] of [
      [401, 'login'],
      [403, 'forbidden'],
    ] as const) {
      const thrown = {
        response: { status, data: outcome(code) },
        config: { headers: headers({ authorization: 'Bearer s3cr3t-token-value' }) },
      };
      const error = normalizeEhrError(thrown, 'epic');
      expect(error.code).toBe('EHR_CREDENTIALS_REJECTED');
      expect(error.status).toBe(503);
      expect(error.retryable).toBe(true);
      expect(error.extra).toEqual({ ehrStatus: status });
      expect(isEhrUnavailable(error)).toBe(true);
      // The token the request carried is named nowhere a receipt, a problem or a log line could show.
      expect(JSON.stringify(error)).not.toContain('s3cr3t');
      expect(error.detail).toBe(`EHR epic refused the connection's credentials (${String(status)})`);
    }
  });

  it('classifies by OperationOutcome issue code, not status alone (Medplum answers 400 when its database is down)', () => {
    for (const code of ['transient', 'exception', 'timeout', 'throttled', 'lock-error']) {
      expect(normalizeEhrError({ response: { status: 400, data: outcome(code) } }, 'm').code).toBe(
        'EHR_UNAVAILABLE',
      );
    }
    expect(normalizeEhrError({ response: { status: 400, data: outcome('required') } }, 'm').code).toBe(
      'EHR_REJECTED',
    );
  });

  it('maps version conflicts to CONFLICT and missing resources to NOT_FOUND', () => {
    expect(normalizeEhrError({ response: { status: 412, data: {} } }, 'm').code).toBe('CONFLICT');
    expect(normalizeEhrError({ response: { status: 409, data: {} } }, 'm').code).toBe('CONFLICT');
    expect(normalizeEhrError({ response: { status: 404, data: outcome('not-found') } }, 'm').code).toBe(
      'NOT_FOUND',
    );
  });

  it('never puts the EHR text into the detail (it may quote patient data)', () => {
    const data = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Jane Doe 1980-02-03' }],
    };
    const error = normalizeEhrError({ response: { status: 400, data } }, 'm');
    expect(error.detail).not.toContain('Jane');
    expect(error.message).not.toContain('Jane');
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('12')).toBe(12);
    expect(parseRetryAfter(new Date(Date.now() + 30_000).toUTCString(), Date.now())).toBeGreaterThanOrEqual(
      29,
    );
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});
