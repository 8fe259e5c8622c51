/** The deliverer for each configured subscriber, by kind. */
import type { SubscriberConfig } from '../config/config-schema';
import type { ReadTask } from '../../adapters/callcenter/callback-task';
import type { EventDeliverer } from '../domain/event-deliverer';
import { createGenesysCallbackDeliverer } from '../../adapters/callcenter/genesys-callback.deliverer';
import { createTwilioStudioDeliverer } from '../../adapters/callcenter/twilio-studio.deliverer';
import { createWebhookDeliverer } from '../../adapters/callcenter/webhook.deliverer';

export type { ReadTask } from '../../adapters/callcenter/callback-task';

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
