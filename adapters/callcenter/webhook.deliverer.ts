/**
 * Generic subscribers: the event as JSON `{type, timestamp, data}`, signed per the Standard
 * Webhooks spec with the `standardwebhooks` library (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`), POSTed with a deadline. 2xx delivered; 410 gone; other 4xx (but 408 and
 * 429) refused for good; anything else is tried again later.
 */
import { Webhook } from 'standardwebhooks';
import type { CallCenterEvent } from '../../src/domain/events';
import { DeliveryError, type EventDeliverer } from './event-deliverer';

export interface WebhookSubscriber {
  readonly url: string;
  readonly secret: string;
  readonly tenant?: string | undefined;
}

function retryAfter(value: string | null): number | undefined {
  if (value === null) return undefined;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

export function createWebhookDeliverer(subscriber: WebhookSubscriber, deadlineMs = 10_000): EventDeliverer {
  const signer = new Webhook(subscriber.secret);
  return {
    async deliver(event: CallCenterEvent) {
      const body = JSON.stringify({
        type: event.type,
        timestamp: event.timestamp,
        ...(subscriber.tenant !== undefined ? { tenant: subscriber.tenant } : {}),
        data: event.data,
      });
      const at = new Date();
      let response: Response;
      try {
        response = await fetch(subscriber.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'webhook-id': event.id,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': signer.sign(event.id, at, body),
          },
          body,
          signal: AbortSignal.timeout(deadlineMs),
        });
      } catch (error) {
        throw new DeliveryError(
          'retry',
          `subscriber unreachable: ${error instanceof Error ? error.name : 'error'}`,
        );
      }
      // The body is never read: a subscriber's answer carries nothing we act on.
      await response.body?.cancel();
      if (response.ok) return;
      const { status } = response;
      if (status === 410) throw new DeliveryError('gone', 'subscriber answered 410 Gone', status);
      if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
        throw new DeliveryError('rejected', `subscriber refused the event (${status})`, status);
      }
      throw new DeliveryError(
        'retry',
        `subscriber answered ${status}`,
        status,
        retryAfter(response.headers.get('retry-after')),
      );
    },
  };
}
