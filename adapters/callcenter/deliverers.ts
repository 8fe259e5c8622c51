/** The deliverer for each configured subscriber, by kind. */
import type { SubscriberConfig } from '../../src/config/config-schema';
import type { ReadTask } from './callback-task';
import type { EventDeliverer } from './event-deliverer';
import { createGenesysCallbackDeliverer } from './genesys-callback.deliverer';
import { createTwilioStudioDeliverer } from './twilio-studio.deliverer';
import { createWebhookDeliverer } from './webhook.deliverer';

export type { ReadTask } from './callback-task';

/** What platform deliverers need from the rest of the gateway. */
export interface DelivererDeps {
  /** Reads a Task from the EHR behind a connection: callback numbers and windows are not in events. */
  readonly readTask: ReadTask;
}

export function delivererFor(subscriber: SubscriberConfig, deps: DelivererDeps): EventDeliverer {
  switch (subscriber.kind) {
    case 'webhook':
      return createWebhookDeliverer(subscriber);
    case 'genesys-callback':
      return createGenesysCallbackDeliverer(subscriber, { readTask: deps.readTask });
    case 'twilio-studio':
      return createTwilioStudioDeliverer(subscriber, { readTask: deps.readTask });
  }
}
