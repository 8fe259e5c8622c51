/**
 * A write sent as a call-center client sends it. On a starved machine the gateway keeps its answer
 * deadline by saying 503 (or 429) with Retry-After; the client waits that long and sends the same
 * request again with the same Idempotency-Key, which makes the second send the same write whether
 * or not the first was stored. Bounded: a gateway that keeps refusing fails the test.
 */
import type { JsonResponse } from './http';

const RETRYABLE = new Set([429, 503]);

export interface ClientSend {
  readonly res: JsonResponse;
  /** How many times the gateway asked to be asked again before it answered. */
  readonly retries: number;
}

export async function sendAsClient(send: () => Promise<JsonResponse>, maxRetries = 5): Promise<ClientSend> {
  let res = await send();
  let retries = 0;
  while (RETRYABLE.has(res.status) && retries < maxRetries) {
    const seconds = Number(res.headers.get('retry-after') ?? '1');
    // The gateway's own wait, as a client honours it: not a guess at how long anything takes.
    await new Promise((resolve) => setTimeout(resolve, Math.min(Math.max(seconds, 0), 10) * 1000));
    retries++;
    res = await send();
  }
  return { res, retries };
}
