import { createHmac, randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { FHIR_JSON } from './fhir-http';
import type { RestHook } from './subscription-rules';
import { restHookFor } from './subscription-rules';
import type { SandboxLogger } from './types';

/** Waits before the 2nd, 3rd and 4th attempt: a receiver restarting is given about 7.5 s in all. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [500, 2000, 5000];

export interface SubscriptionDeliveryOptions {
  readonly logger?: SandboxLogger | undefined;
  /** One entry per retry (default 0.5 s, 2 s, 5 s); network errors, 5xx, 408 and 429 are retried. */
  readonly retryDelaysMs?: readonly number[];
  /** Each POST gives up after this long (default 10 s) and counts as a network error. */
  readonly attemptTimeoutMs?: number;
  /** POSTs in flight at once (default 4); the rest wait in arrival order. */
  readonly concurrency?: number;
  /** Notifications waiting beyond this (default 10,000) are dropped, with a log line. */
  readonly maxQueued?: number;
}

interface Notification {
  readonly hook: RestHook;
  /** `Patient/123/_history/2`: what the notification is about, for headers and logs. */
  readonly version: string;
  /** One id per notification, the same on every attempt, so the receiver can de-duplicate. */
  readonly eventId: string;
  readonly body: string | undefined;
  readonly attempt: number;
}

type AttemptResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly retry: boolean; readonly status?: number; readonly error?: string };

/**
 * FHIR R4 rest-hook delivery for the sandbox: for each committed version, one POST per delivering
 * Subscription whose criteria match, signed as Medplum signs (`X-Signature`: hex HMAC-SHA256 of the body
 * with the subscription's secret). Deliveries run in the background and never touch the FHIR request that
 * caused them; `close()` drops what is waiting and aborts what is in flight, so nothing here keeps a
 * process alive.
 */
export class SubscriptionDelivery {
  private readonly logger: SandboxLogger | undefined;
  private readonly retryDelaysMs: readonly number[];
  private readonly attemptTimeoutMs: number;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly queue: Notification[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly stop = new AbortController();
  private closed = false;

  constructor(options: SubscriptionDeliveryOptions = {}) {
    this.logger = options.logger;
    this.retryDelaysMs = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.concurrency = options.concurrency ?? 4;
    this.maxQueued = options.maxQueued ?? 10_000;
  }

  /**
   * A resource version was committed: queue a notification for each subscription it matches. Synchronous
   * and cheap (criteria are matched in memory, nothing is sent yet); never throws.
   */
  committed(resource: Resource, subscriptions: Iterable<Resource>): void {
    if (this.closed || resource.resourceType === 'Subscription') {
      return;
    }
    const version = `${resource.resourceType}/${resource.id ?? ''}/_history/${resource.meta?.versionId ?? ''}`;
    let body: string | undefined;
    for (const subscription of subscriptions) {
      let hook: RestHook | undefined;
      try {
        hook = restHookFor(subscription, resource);
      } catch {
        hook = undefined;
      }
      if (hook === undefined) {
        continue;
      }
      if (hook.fullResource) {
        body ??= JSON.stringify(resource);
      }
      this.enqueue({
        hook,
        version,
        eventId: randomUUID(),
        body: hook.fullResource ? body : undefined,
        attempt: 1,
      });
    }
  }

  /** Notifications waiting, in flight or waiting for a retry. */
  pending(): number {
    return this.queue.length + this.inFlight.size + this.retryTimers.size;
  }

  /** Drops waiting notifications and retries, aborts POSTs in flight, and resolves once they have stopped. */
  async close(): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    for (const timer of this.retryTimers) {
      clearTimeout(timer);
    }
    this.retryTimers.clear();
    this.stop.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private enqueue(notification: Notification): void {
    if (this.closed) {
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.logger?.warn(
        { subscription: `Subscription/${notification.hook.subscriptionId}`, resource: notification.version },
        'sandbox EHR subscription notification dropped: too many waiting',
      );
      return;
    }
    this.queue.push(notification);
    this.pump();
  }

  private pump(): void {
    while (!this.closed && this.inFlight.size < this.concurrency) {
      const next = this.queue.shift();
      if (next === undefined) {
        return;
      }
      const running = this.attempt(next).then((result) => {
        this.settle(next, result);
      });
      this.inFlight.add(running);
      void running.finally(() => {
        this.inFlight.delete(running);
        this.pump();
      });
    }
  }

  private settle(notification: Notification, result: AttemptResult): void {
    if (result.ok || this.closed) {
      return;
    }
    const delay = this.retryDelaysMs[notification.attempt - 1];
    if (result.retry && delay !== undefined) {
      const timer = setTimeout(() => {
        this.retryTimers.delete(timer);
        this.enqueue({ ...notification, attempt: notification.attempt + 1 });
      }, delay);
      // Waiting to retry never keeps the process alive; close() clears it anyway.
      timer.unref();
      this.retryTimers.add(timer);
      return;
    }
    // References and status only: never the body (PHI), the endpoint or the headers (secrets).
    this.logger?.warn(
      {
        subscription: `Subscription/${notification.hook.subscriptionId}`,
        resource: notification.version,
        attempts: notification.attempt,
        ...(result.status !== undefined ? { status: result.status } : {}),
        ...(result.error !== undefined ? { error: result.error } : {}),
      },
      'sandbox EHR subscription notification not delivered',
    );
  }

  private async attempt(notification: Notification): Promise<AttemptResult> {
    const { hook, body } = notification;
    const headers = new Headers();
    for (const [name, value] of hook.headers) {
      headers.append(name, value);
    }
    if (body !== undefined) {
      headers.set('Content-Type', FHIR_JSON);
    }
    headers.set('X-Event-Id', notification.eventId);
    headers.set('X-Resource-Version', notification.version);
    if (hook.secret !== undefined) {
      headers.set(
        'X-Signature',
        createHmac('sha256', hook.secret)
          .update(body ?? '')
          .digest('hex'),
      );
    }
    try {
      const response = await fetch(hook.endpoint, {
        method: 'POST',
        headers,
        body,
        // A redirect could lead off the machine: it counts as a refusal.
        redirect: 'manual',
        signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.attemptTimeoutMs)]),
      });
      await response.arrayBuffer().catch(() => undefined);
      const status = response.status;
      if (status >= 200 && status < 300) {
        return { ok: true };
      }
      return { ok: false, retry: status >= 500 || status === 408 || status === 429, status };
    } catch (err) {
      return { ok: false, retry: true, error: errorCode(err) };
    }
  }
}

/** `ECONNREFUSED`, `TimeoutError`...: a code, never a message that could carry the URL. */
function errorCode(err: unknown): string {
  // By shape, not instanceof: fetch's errors may come from another realm (e.g. under Jest).
  const error = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; cause?: unknown };
  const cause = (typeof error.cause === 'object' && error.cause !== null ? error.cause : {}) as {
    code?: unknown;
  };
  if (typeof cause.code === 'string') {
    return cause.code;
  }
  return typeof error.name === 'string' ? error.name : 'Error';
}
