/** Small fetch helpers for tests that talk to a listening gateway or a FHIR server. */
import { withCredential } from './credentials';

export interface JsonResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

export async function http<T = any>(
  method: string,
  url: string,
  options: {
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
    timeoutMs?: number;
    /** Send no credential, not even the gateway's registered one. */
    anonymous?: boolean;
  } = {},
): Promise<JsonResponse<T>> {
  const headers = withCredential(url, options.headers, options.anonymous);
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(url, {
    method,
    headers,
    body,
    ...(options.timeoutMs !== undefined ? { signal: AbortSignal.timeout(options.timeoutMs) } : {}),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** The E.164 numbers of a FHIR Patient's phone telecom entries, as digits only, for comparisons. */
export function phoneDigits(patient: { telecom?: { system?: string; value?: string }[] }): string[] {
  return (patient.telecom ?? [])
    .filter((t) => t.system === 'phone' && t.value !== undefined)
    .map((t) => (t.value ?? '').replace(/\D/g, '').replace(/^1(\d{10})$/, '$1'));
}
