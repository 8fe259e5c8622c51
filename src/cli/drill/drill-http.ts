/**
 * The drill's only way to the gateway: HTTP with an API key, as any client. A request that gets no
 * answer resolves with status 0 rather than throwing, so a down gateway is a figure, not a crash.
 */

export interface DrillResponse {
  readonly status: number;
  readonly body: unknown;
  readonly latencyMs: number;
  readonly headers: Headers | undefined;
}

export interface DrillHttp {
  readonly baseUrl: string;
  request(
    method: string,
    path: string,
    options?: {
      readonly body?: unknown;
      readonly headers?: Record<string, string>;
      readonly timeoutMs?: number;
    },
  ): Promise<DrillResponse>;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export function createDrillHttp(baseUrl: string, key: string): DrillHttp {
  return {
    baseUrl,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { authorization: `Bearer ${key}`, ...options.headers };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const started = performance.now();
      try {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers,
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
        });
        const text = await response.text();
        let body: unknown = undefined;
        try {
          body = text === '' ? undefined : JSON.parse(text);
        } catch {
          body = undefined;
        }
        return {
          status: response.status,
          body,
          latencyMs: performance.now() - started,
          headers: response.headers,
        };
      } catch {
        return { status: 0, body: undefined, latencyMs: performance.now() - started, headers: undefined };
      }
    },
  };
}

/** A field of a JSON object answer, without trusting its shape. */
export function field(body: unknown, ...path: string[]): unknown {
  let current: unknown = body;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

export function stringField(body: unknown, ...path: string[]): string | undefined {
  const value = field(body, ...path);
  return typeof value === 'string' ? value : undefined;
}
