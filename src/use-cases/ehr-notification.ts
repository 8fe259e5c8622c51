/**
 * What an EHR's push says, whatever its shape: FHIR R4 rest-hook (an empty body, or the full
 * resource) or an R4B/R5 `subscription-notification` Bundle (full resources or id-only focus
 * references, with event numbers). Reduced to references to re-read: the notification is a hint
 * that something changed, and the EHR itself stays the source of what it now holds.
 */
import { validationError } from '../domain/errors';
import { FHIR_ID } from '../domain/fhir';

export const NOTIFIED_TYPES = ['Patient', 'Appointment', 'Encounter'] as const;
export type NotifiedType = (typeof NOTIFIED_TYPES)[number];

export interface NotifiedRef {
  readonly resourceType: NotifiedType;
  readonly id: string;
  readonly version?: string;
}

export interface ParsedNotification {
  readonly refs: readonly NotifiedRef[];
  /** The subscription the Bundle names, for gap detection. */
  readonly subscription: string | undefined;
  /** Event numbers carried (R4B/R5), lowest first; empty for rest-hook bodies. */
  readonly eventNumbers: readonly number[];
  /**
   * True when the number is the subscription's count of events so far (a heartbeat), not an
   * event of this notification: any count above the last seen means events went missing.
   */
  readonly countOnly: boolean;
  /** An empty rest-hook body: something changed, the EHR does not say what. */
  readonly ping: boolean;
  /** A stable identity when the body gives one (resource version), for de-duplication. */
  readonly bodyIdentity: string | undefined;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNotified = (t: unknown): t is NotifiedType => (NOTIFIED_TYPES as readonly unknown[]).includes(t);

function refFromReference(reference: unknown): NotifiedRef | undefined {
  if (typeof reference !== 'string') return undefined;
  // Absolute or relative; `Type/id` or `Type/id/_history/v`.
  const match =
    /(?:^|\/)(Patient|Appointment|Encounter)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/.exec(
      reference,
    );
  if (match === null) return undefined;
  const [, resourceType, id, version] = match;
  if (!isNotified(resourceType) || id === undefined || !FHIR_ID.test(id)) return undefined;
  return version === undefined ? { resourceType, id } : { resourceType, id, version };
}

function refFromResource(resource: Json): NotifiedRef | undefined {
  const { resourceType, id } = resource;
  if (!isNotified(resourceType) || typeof id !== 'string' || !FHIR_ID.test(id)) return undefined;
  const version = isObject(resource.meta) ? resource.meta.versionId : undefined;
  return typeof version === 'string' ? { resourceType, id, version } : { resourceType, id };
}

/** R5 SubscriptionStatus, or the R4B backport's Parameters with the same parts. */
interface StatusParts {
  subscription?: string;
  /** `event-notification`, `heartbeat`, `handshake`, `query-status`, ... */
  type?: string;
  /** Events the subscription has produced so far: a heartbeat's way of showing what was missed. */
  sinceStart?: number;
  events: { number: number; focus?: unknown }[];
}

function statusOf(resource: Json): StatusParts {
  if (resource.resourceType === 'SubscriptionStatus') {
    const events = Array.isArray(resource.notificationEvent) ? resource.notificationEvent : [];
    return {
      ...(typeof resource.type === 'string' ? { type: resource.type } : {}),
      ...(resource.eventsSinceSubscriptionStart !== undefined
        ? { sinceStart: Number(resource.eventsSinceSubscriptionStart) }
        : {}),
      ...(isObject(resource.subscription) && typeof resource.subscription.reference === 'string'
        ? { subscription: resource.subscription.reference }
        : {}),
      events: events.filter(isObject).map((e) => ({
        number: Number(e.eventNumber),
        focus: isObject(e.focus) ? e.focus.reference : undefined,
      })),
    };
  }
  const parameters = Array.isArray(resource.parameter) ? resource.parameter.filter(isObject) : [];
  const subscription = parameters.find((p) => p.name === 'subscription');
  const events = parameters
    .filter((p) => p.name === 'notification-event')
    .map((p) => {
      const parts = Array.isArray(p.part) ? p.part.filter(isObject) : [];
      const number = parts.find((q) => q.name === 'event-number');
      const focus = parts.find((q) => q.name === 'focus');
      return {
        number: Number(number?.valueString ?? number?.valueInteger64 ?? number?.valueInteger),
        focus: isObject(focus?.valueReference) ? focus.valueReference.reference : undefined,
      };
    });
  const reference = isObject(subscription?.valueReference)
    ? subscription.valueReference.reference
    : undefined;
  const type = parameters.find((p) => p.name === 'type')?.valueCode;
  const since = parameters.find((p) => p.name === 'events-since-subscription-start');
  const sinceStart = Number(since?.valueString ?? since?.valueInteger64 ?? since?.valueInteger);
  return {
    ...(typeof reference === 'string' ? { subscription: reference } : {}),
    ...(typeof type === 'string' ? { type } : {}),
    ...(Number.isInteger(sinceStart) ? { sinceStart } : {}),
    events,
  };
}

export function parseNotification(rawBody: Buffer): ParsedNotification {
  const text = rawBody.toString('utf8').trim();
  if (text === '') {
    return {
      refs: [],
      subscription: undefined,
      eventNumbers: [],
      countOnly: false,
      ping: true,
      bodyIdentity: undefined,
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw validationError([{ field: 'body', message: 'is not JSON' }]);
  }
  if (!isObject(body)) throw validationError([{ field: 'body', message: 'is not a FHIR resource' }]);

  if (body.resourceType === 'Bundle') {
    const entries = Array.isArray(body.entry) ? body.entry.filter(isObject) : [];
    const resources = entries.map((e) => e.resource).filter(isObject);
    const status = resources.find(
      (r) => r.resourceType === 'SubscriptionStatus' || r.resourceType === 'Parameters',
    );
    if (status === undefined) {
      throw validationError([{ field: 'body', message: 'is a Bundle without a subscription status' }]);
    }
    const { subscription, events, type, sinceStart } = statusOf(status);
    const refs = new Map<string, NotifiedRef>();
    for (const event of events) {
      const ref = refFromReference(event.focus);
      if (ref !== undefined) refs.set(`${ref.resourceType}/${ref.id}`, ref);
    }
    for (const resource of resources) {
      const ref = refFromResource(resource);
      if (ref !== undefined) refs.set(`${ref.resourceType}/${ref.id}`, ref);
    }
    const numbers = events.map((e) => e.number).filter((n) => Number.isInteger(n) && n >= 0);
    // A heartbeat or handshake names no event, but its count since the start shows any missed.
    const countOnly = numbers.length === 0 && sinceStart !== undefined && sinceStart > 0;
    if (countOnly) numbers.push(sinceStart);
    const eventNumbers = numbers.sort((a, b) => a - b);
    // Only an event notification without resources means "something changed"; a heartbeat does not.
    const notification = type === undefined || type === 'event-notification';
    return {
      refs: [...refs.values()],
      subscription,
      eventNumbers,
      countOnly,
      ping: notification && refs.size === 0,
      bodyIdentity: undefined,
    };
  }

  const ref = refFromResource(body);
  if (ref === undefined) {
    throw validationError([
      { field: 'body', message: 'is not a Patient, Appointment or Encounter notification' },
    ]);
  }
  return {
    refs: [ref],
    subscription: undefined,
    eventNumbers: [],
    countOnly: false,
    ping: false,
    bodyIdentity:
      ref.version === undefined ? undefined : `${ref.resourceType}/${ref.id}/_history/${ref.version}`,
  };
}
