/**
 * Twilio Studio subscribers (`kind: twilio-studio`): each `callback.requested` event starts an
 * Execution of a Studio Flow (`POST {apiBase}/v2/Flows/{flowSid}/Executions`, form-encoded, HTTP
 * Basic with the account SID and auth token). Every other event type is ignored: `deliver`
 * returns at once, without a request.
 *
 * - `To`: the callback number, read from the Task the event names (readCallbackRequest), E.164;
 *   the Flow sees it as `{{contact.channel.address}}`.
 * - `From`: the configured Twilio number (or Messaging Service SID), `{{flow.channel.address}}`.
 * - `Parameters`: a JSON string of the event's references (eventId, eventType, resourceRef,
 *   operationId, patientId, connection), `{{flow.data.<name>}}` in the Flow. Nothing else: no PHI.
 *
 * A Studio Execution starts at once: the Task's callback window is not passed on, and a Flow that
 * must respect it reads the Task through Continuum. Studio takes no idempotency key either: a
 * delivery whose answer was lost is tried again and may start a second Execution.
 */
import type { CallCenterEvent, EventType } from '../../src/domain/events';
import { readCallbackRequest, referencesOf, type ReadTask } from './callback-task';
import type { EventDeliverer } from '../../src/domain/event-deliverer';
import { basicAuthorization, classifyFailure, trimSlashes, unreachable } from './platform-http';

export interface TwilioStudioSubscriber {
  /** Default `https://studio.twilio.com`. */
  readonly apiBase?: string | undefined;
  /** `AC...`: the Basic user name. */
  readonly accountSid: string;
  /** The Basic password. */
  readonly authToken: string;
  /** `FW...`: the Flow to execute. */
  readonly flowSid: string;
  /** The Twilio number the Flow calls or texts from (E.164), or a Messaging Service SID. */
  readonly from: string;
  /** Event types acted on; anything else is ignored. */
  readonly types: readonly EventType[];
}

export interface TwilioStudioOptions {
  readonly readTask: ReadTask;
  /** Deadline of each HTTP request, in ms. */
  readonly deadlineMs?: number;
  readonly now?: () => number;
}

const PLATFORM = 'Twilio Studio';

export function createTwilioStudioDeliverer(
  subscriber: TwilioStudioSubscriber,
  options: TwilioStudioOptions,
): EventDeliverer {
  const url = `${trimSlashes(subscriber.apiBase ?? 'https://studio.twilio.com')}/v2/Flows/${encodeURIComponent(
    subscriber.flowSid,
  )}/Executions`;
  const authorization = basicAuthorization(subscriber.accountSid, subscriber.authToken);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const now = options.now ?? Date.now;

  return {
    async deliver(event: CallCenterEvent) {
      if (event.type !== 'callback.requested' || !subscriber.types.includes(event.type)) return;
      const callback = await readCallbackRequest(PLATFORM, event, options.readTask);
      if (callback === undefined) return;
      const body = new URLSearchParams({
        To: callback.phone,
        From: subscriber.from,
        Parameters: JSON.stringify(referencesOf(event, callback.resourceRef)),
      });
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            authorization,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: body.toString(),
          signal: AbortSignal.timeout(deadlineMs),
        });
      } catch (error) {
        throw unreachable(PLATFORM, error);
      }
      if (response.ok) {
        // The Execution resource echoes the number (contact_channel_address): not read.
        await response.body?.cancel();
        return;
      }
      // 401 (wrong SID or token) is refused for good like any other 4xx: credentials do not fix
      // themselves, and a dead letter is replayed once they are.
      throw await classifyFailure(PLATFORM, 'the execution request', response, now());
    },
  };
}
