/**
 * The token endpoint named by an EHR's SMART configuration
 * (`<baseUrl>/.well-known/smart-configuration`, SMART App Launch 2.x), for connections that do
 * not set `tokenUrl`. Cached by the caller until its credentials are reloaded.
 */
import { ContinuumError } from '../../../src/domain/errors';
import { unreachable } from './token-endpoint';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The same rule as for configured URLs: credentials travel over https, or http on loopback or where allowed. */
export function isSafeTokenUrl(value: string, allowInsecureHttp: boolean): boolean {
  try {
    const url = new URL(value);
    return (
      url.protocol === 'https:' ||
      (url.protocol === 'http:' && (LOOPBACK.has(url.hostname) || allowInsecureHttp))
    );
  } catch {
    return false;
  }
}

export async function discoverTokenEndpoint(options: {
  readonly connection: string;
  readonly baseUrl: string;
  readonly allowInsecureHttp: boolean;
  readonly timeoutMs: number;
}): Promise<string> {
  const { connection } = options;
  const url = `${options.baseUrl.replace(/\/+$/, '')}/.well-known/smart-configuration`;
  const what = 'the SMART configuration';
  let response: Response;
  try {
    response = await fetch(url, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    throw unreachable(connection, error, what);
  }
  if (response.status >= 500 || response.status === 429 || response.status === 408) {
    throw new ContinuumError(response.status === 429 ? 'EHR_THROTTLED' : 'EHR_UNAVAILABLE', {
      detail: `${what} of EHR ${connection} answered ${response.status}`,
      extra: { discoveryStatus: response.status },
    });
  }
  const body = (await response.json().catch(() => undefined)) as { token_endpoint?: unknown } | undefined;
  const tokenUrl = response.ok ? body?.token_endpoint : undefined;
  if (typeof tokenUrl !== 'string' || !isSafeTokenUrl(tokenUrl, options.allowInsecureHttp)) {
    // Nobody will fix this by waiting: the connection needs `tokenUrl`, or the EHR its document.
    throw new ContinuumError('EHR_CREDENTIALS_REJECTED', {
      detail:
        typeof tokenUrl === 'string'
          ? `${what} of EHR ${connection} names a token endpoint that is not https: set auth.tokenUrl`
          : `${what} of EHR ${connection} names no token endpoint (${response.status}): set auth.tokenUrl`,
      extra: { discoveryStatus: response.status },
    });
  }
  return tokenUrl;
}
