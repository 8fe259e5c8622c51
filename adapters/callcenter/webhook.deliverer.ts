/**
 * Generic subscribers: the event as JSON `{type, timestamp, data}`, signed per the Standard
 * Webhooks spec with the `standardwebhooks` library (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`), POSTed with a deadline; failures are classified as for every deliverer
 * (platform-http.ts): 410 gone, other 4xx but 408 and 429 refused for good, the rest tried again.
 */
import { Webhook } from 'standardwebhooks';
import type { CallCenterEvent } from '../../src/domain/events';
import type { EventDeliverer } from '../../src/domain/event-deliverer';
import { classifyFailure, unreachable } from './platform-http';

export interface WebhookSubscriber {
  readonly url: string;
  readonly secret: string;
  readonly tenant?: string | undefined;
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
        throw unreachable('subscriber', error);
      }
      if (response.ok) {
        // A subscriber's answer carries nothing we act on.
        await response.body?.cancel();
        return;
      }
      throw await classifyFailure('subscriber', 'the event', response, Date.now());
    },
  };
}
