/**
 * HTTP plumbing shared by the deliverers (webhooks, Genesys Cloud, Twilio Studio): one
 * classification of failures, and error texts that carry a status and the vendor's
 * error code only. A vendor's error message may echo what it was sent (a callback number), so it
 * is never read into an error.
 */
import { parseRetryAfter } from '../../src/domain/retry-after';
import { DeliveryError } from '../../src/domain/event-deliverer';

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

export function trimSlashes(base: string): string {
  return base.replace(/\/+$/, '');
}

const SAFE_CODE = /^[A-Za-z0-9._:-]{1,80}$/;

/**
 * The vendor's machine-readable error code from a JSON error body (Genesys `code` such as
 * `bad.request`, Twilio's numeric `code` such as 20404), when it looks like a code. Reads the
 * body; never returns the message.
 */
export async function vendorErrorCode(response: Response): Promise<string | undefined> {
  try {
    const body: unknown = JSON.parse(await response.text());
    if (body === null || typeof body !== 'object' || !('code' in body)) return undefined;
    const { code } = body;
    if (typeof code === 'number' && Number.isInteger(code)) return String(code);
    return typeof code === 'string' && SAFE_CODE.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** A request that never got an answer (refused, reset, timed out): always tried again. */
export function unreachable(platform: string, error: unknown): DeliveryError {
  return new DeliveryError(
    'retry',
    `${platform} unreachable: ${error instanceof Error ? error.name : 'error'}`,
  );
}

/**
 * A non-2xx answer, classified: 410 gone; other 4xx but 408 and 429
 * refused for good; 408, 429, 5xx and anything else tried again (with `Retry-After` when given).
 */
export async function classifyFailure(
  platform: string,
  what: string,
  response: Response,
  now: number,
): Promise<DeliveryError> {
  const { status } = response;
  const code = await vendorErrorCode(response);
  const detail = `${platform}: ${what} answered ${status}${code !== undefined ? ` (${code})` : ''}`;
  if (status === 410) return new DeliveryError('gone', detail, status);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
    return new DeliveryError('rejected', detail, status);
  }
  return new DeliveryError(
    'retry',
    detail,
    status,
    parseRetryAfter(response.headers.get('retry-after'), now),
  );
}
