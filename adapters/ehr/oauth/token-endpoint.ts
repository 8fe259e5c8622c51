/**
 * One request to an EHR's OAuth token endpoint (RFC 6749 section 4.4), and what its failures
 * mean for the gateway: a refusal of its credentials (`EHR_CREDENTIALS_REJECTED`: someone must fix
 * the registration, the key or the secret) is told apart from an outage of the endpoint
 * (`EHR_UNAVAILABLE`, `EHR_THROTTLED`: retried). The request's form and the answer carry secrets:
 * neither is ever put into an error or a log.
 */
import { ContinuumError } from '../../../src/domain/errors';
import { parseRetryAfter } from '../../../src/domain/retry-after';

export interface TokenAnswer {
  readonly accessToken: string;
  /** Seconds, when the endpoint said (RFC 6749 recommends it). */
  readonly expiresIn: number | undefined;
}

/** Error codes by which an authorization server refuses the client itself (RFC 6749 section 5.2). */
const REFUSALS = new Set(['invalid_client', 'invalid_grant', 'unauthorized_client', 'invalid_scope']);

export async function requestAccessToken(options: {
  readonly connection: string;
  readonly tokenUrl: string;
  readonly form: Readonly<Record<string, string>>;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}): Promise<TokenAnswer> {
  const { connection } = options;
  let response: Response;
  try {
    response = await fetch(options.tokenUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...options.headers,
      },
      body: new URLSearchParams(options.form).toString(),
      signal: AbortSignal.timeout(options.timeoutMs),
      // A redirect would carry the client's credentials to wherever it points.
      redirect: 'error',
    });
  } catch (error) {
    throw unreachable(connection, error);
  }
  const text = await response.text().catch(() => '');
  let body: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') body = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): judged by the status alone.
  }
  const status = response.status;
  if (status === 429) {
    throw new ContinuumError('EHR_THROTTLED', {
      detail: `the token endpoint of EHR ${connection} is throttling requests (429)`,
      retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
      extra: { tokenStatus: status },
    });
  }
  if (status >= 500 || status === 408) {
    throw new ContinuumError('EHR_UNAVAILABLE', {
      detail: `the token endpoint of EHR ${connection} answered ${status}`,
      retryAfterSeconds: parseRetryAfter(response.headers.get('retry-after')),
      extra: { tokenStatus: status },
    });
  }
  if (status >= 400) {
    const oauthError = typeof body.error === 'string' ? body.error : undefined;
    // Only a known code is repeated: the field is free text on some servers.
    const known = oauthError !== undefined && /^[a-z_]{1,40}$/.test(oauthError) ? oauthError : undefined;
    throw new ContinuumError('EHR_CREDENTIALS_REJECTED', {
      detail:
        known !== undefined && REFUSALS.has(known)
          ? `EHR ${connection} refused the gateway's credentials (${status} ${known})`
          : `the token endpoint of EHR ${connection} refused the request (${status}${known !== undefined ? ` ${known}` : ''})`,
      extra: { tokenStatus: status, ...(known !== undefined ? { oauthError: known } : {}) },
    });
  }
  const accessToken = body.access_token;
  if (typeof accessToken !== 'string' || accessToken === '') {
    throw new ContinuumError('EHR_UNAVAILABLE', {
      detail: `the token endpoint of EHR ${connection} answered ${status} without an access token`,
      extra: { tokenStatus: status },
    });
  }
  const expiresIn = Number(body.expires_in);
  return { accessToken, expiresIn: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : undefined };
}

export function unreachable(connection: string, error: unknown, what = 'the token endpoint'): ContinuumError {
  const name = error !== null && typeof error === 'object' ? (error as { name?: unknown }).name : undefined;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new ContinuumError('EHR_UNAVAILABLE', {
      cause: error,
      detail: `${what} of EHR ${connection} did not answer in time`,
      extra: { timeout: true },
    });
  }
  return new ContinuumError('EHR_UNAVAILABLE', {
    cause: error,
    detail: `${what} of EHR ${connection} is unreachable`,
    extra: { network: networkCode(error) ?? 'unknown' },
  });
}

function networkCode(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== null && typeof current === 'object'; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
