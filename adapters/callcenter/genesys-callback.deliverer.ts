/**
 * Genesys Cloud subscribers (`kind: genesys-callback`): each `callback.requested` event becomes a
 * Genesys callback in a queue, through the Platform API's Conversations endpoint
 * (`POST /api/v2/conversations/callbacks`, body `CreateCallbackCommand`; SDK
 * `ConversationsApi.postConversationsCallbacks`). Every other event type is ignored: `deliver`
 * returns at once, without a request.
 *
 * The number and the window are read from the Task the event names (readCallbackRequest): the
 * body carries `queueId`, `callbackNumbers: [<E.164>]`, `callbackScheduledTime` when the window
 * opens in the future, and `data` with the event's references (eventId, eventType, resourceRef,
 * operationId, patientId, connection), which Genesys shows as participant attributes. No
 * `callbackUserName`: a name is PHI and the agent's desktop gets it from Continuum by patientId.
 *
 * Authentication is an OAuth client-credentials token (`POST {loginBase}/oauth/token`, form body
 * `grant_type=client_credentials`, HTTP Basic with the client id and secret), shared by every
 * delivery and fetched again shortly before `expires_in` runs out. A 401 from the API (a revoked
 * token, or a HIPAA-mode org's idle timeout) fetches a new token and tries once more.
 *
 * Genesys has no idempotency key for callbacks: a delivery whose answer was lost (timeout after
 * Genesys created the callback) is tried again and may create a second callback.
 */
import type { CallCenterEvent, EventType } from '../../src/domain/events';
import { readCallbackRequest, referencesOf, type ReadTask } from './callback-task';
import { DeliveryError, type EventDeliverer } from '../../src/domain/event-deliverer';
import { basicAuthorization, classifyFailure, trimSlashes, unreachable } from './platform-http';

export interface GenesysCallbackSubscriber {
  /** The org's region domain, e.g. `mypurecloud.com`, `usw2.pure.cloud`, `mypurecloud.de`. */
  readonly region?: string | undefined;
  /** Explicit base URLs (both, instead of `region`): `https://api.<region>`, `https://login.<region>`. */
  readonly apiBase?: string | undefined;
  readonly loginBase?: string | undefined;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly queueId: string;
  /** Event types acted on; anything else is ignored. */
  readonly types: readonly EventType[];
}

export interface GenesysCallbackOptions {
  readonly readTask: ReadTask;
  /** Deadline of each HTTP request, in ms. */
  readonly deadlineMs?: number;
  /** The clock, in ms since the epoch (tests move it to expire tokens). */
  readonly now?: () => number;
}

const PLATFORM = 'Genesys Cloud';

/** The Platform API and login base URLs: explicit ones, else those of the region. */
export function genesysBaseUrls(subscriber: GenesysCallbackSubscriber): {
  apiBase: string;
  loginBase: string;
} {
  const { region, apiBase, loginBase } = subscriber;
  if (apiBase !== undefined && loginBase !== undefined) {
    return { apiBase: trimSlashes(apiBase), loginBase: trimSlashes(loginBase) };
  }
  if (region === undefined)
    throw new Error('a genesys-callback subscriber needs region or apiBase and loginBase');
  return { apiBase: `https://api.${region}`, loginBase: `https://login.${region}` };
}

/** Seconds before `expires_in` runs out when a cached token is fetched again. */
function refreshMarginSeconds(expiresIn: number): number {
  return Math.min(60, expiresIn / 10);
}

interface CachedToken {
  readonly value: string;
  readonly refreshAt: number;
}

export function createGenesysCallbackDeliverer(
  subscriber: GenesysCallbackSubscriber,
  options: GenesysCallbackOptions,
): EventDeliverer {
  const { apiBase, loginBase } = genesysBaseUrls(subscriber);
  const deadlineMs = options.deadlineMs ?? 10_000;
  const now = options.now ?? Date.now;
  let cached: CachedToken | undefined;
  let pending: Promise<string> | undefined;

  async function fetchToken(): Promise<string> {
    let response: Response;
    try {
      response = await fetch(`${loginBase}/oauth/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(subscriber.clientId, subscriber.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
          accept: 'application/json',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials' }).toString(),
        signal: AbortSignal.timeout(deadlineMs),
      });
    } catch (error) {
      throw unreachable(`${PLATFORM} login`, error);
    }
    // 400/401 here (invalid_client, unauthorized_client) is a credentials problem: refused for
    // good, like any other 4xx, so that it shows as a dead letter rather than as silent retries.
    if (!response.ok) throw await classifyFailure(PLATFORM, 'the token request', response, now());
    let body: unknown;
    try {
      body = await response.json();
    } catch {
      throw new DeliveryError('retry', `${PLATFORM}: the token answer is not JSON`, response.status);
    }
    const token = tokenOf(body);
    if (token === undefined) {
      throw new DeliveryError('retry', `${PLATFORM}: the token answer has no access_token`, response.status);
    }
    const at = now();
    cached = {
      value: token.accessToken,
      refreshAt: at + (token.expiresIn - refreshMarginSeconds(token.expiresIn)) * 1000,
    };
    return token.accessToken;
  }

  /** The cached token while it is fresh; one request at a time fetches a new one for all. */
  function accessToken(): Promise<string> {
    if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.value);
    pending ??= fetchToken().finally(() => {
      pending = undefined;
    });
    return pending;
  }

  async function createCallback(token: string, body: string): Promise<Response> {
    try {
      return await fetch(`${apiBase}/api/v2/conversations/callbacks`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body,
        signal: AbortSignal.timeout(deadlineMs),
      });
    } catch (error) {
      throw unreachable(PLATFORM, error);
    }
  }

  return {
    async deliver(event: CallCenterEvent) {
      if (event.type !== 'callback.requested' || !subscriber.types.includes(event.type)) return;
      const callback = await readCallbackRequest(PLATFORM, event, options.readTask);
      if (callback === undefined) return;
      const scheduled = callback.windowStart;
      const body = JSON.stringify({
        queueId: subscriber.queueId,
        callbackNumbers: [callback.phone],
        // A window that opened already (a late delivery, or "from now") is a callback as soon as
        // possible: Genesys is not asked to schedule one in the past.
        ...(scheduled !== undefined && scheduled.getTime() > now()
          ? { callbackScheduledTime: scheduled.toISOString() }
          : {}),
        data: referencesOf(event, callback.resourceRef),
      });

      let token = await accessToken();
      let response = await createCallback(token, body);
      if (response.status === 401) {
        await response.body?.cancel();
        if (cached?.value === token) cached = undefined;
        token = await accessToken();
        response = await createCallback(token, body);
        if (response.status === 401) {
          await response.body?.cancel();
          // A token fetched a moment ago refused too: the OAuth client was revoked or lost its
          // role. That will not fix itself, so the event is refused for good (a dead letter to
          // replay once the client is fixed) rather than retried for days.
          throw new DeliveryError('rejected', `${PLATFORM}: a fresh token was refused (401)`, 401);
        }
      }
      if (response.ok) {
        await response.body?.cancel();
        return;
      }
      throw await classifyFailure(PLATFORM, 'the callback request', response, now());
    },
  };
}

function tokenOf(body: unknown): { accessToken: string; expiresIn: number } | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const { access_token: accessToken, expires_in: expiresIn } = body as Record<string, unknown>;
  if (typeof accessToken !== 'string' || accessToken === '') return undefined;
  // Genesys always sends expires_in; without it, keep the token 15 minutes (a HIPAA-mode idle timeout).
  const seconds =
    typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : 900;
  return { accessToken, expiresIn: seconds };
}
