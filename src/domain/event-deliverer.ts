/**
 * One way of handing an event to a call-center tool: a signed webhook, or a platform's own API
 * (Genesys Cloud callbacks, Twilio Studio executions). A deliverer either returns (delivered) or
 * throws a DeliveryError saying whether to try again later, or to stop for good.
 */
import type { CallCenterEvent } from './events';

export type DeliveryOutcome =
  /** Try again later (network, timeout, 5xx, 429): `retryAfterSeconds` when the tool says. */
  | 'retry'
  /** The subscriber is gone (410): disable it. */
  | 'gone'
  /** The tool refused this event for good (other 4xx): dead-letter it, keep the subscriber. */
  | 'rejected';

export class DeliveryError extends Error {
  constructor(
    readonly outcome: DeliveryOutcome,
    detail: string,
    readonly status?: number,
    readonly retryAfterSeconds?: number,
  ) {
    super(detail);
    this.name = 'DeliveryError';
  }
}

export interface EventDeliverer {
  deliver(event: CallCenterEvent): Promise<void>;
}
