import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { SearchRequest } from '@medplum/core';
import { OperationOutcomeError, badRequest, normalizeErrorString, parseSearchRequest } from '@medplum/core';
import { SANDBOX_RESOURCE_TYPES } from './capability-statement';
import { searchResources } from './memory-search';
import { prepareSearchRequest } from './search-rules';

/** Where Medplum keeps a rest-hook's signing secret; the sandbox reads the same extension. */
export const SUBSCRIPTION_SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';

/** The sandbox never calls out of the machine: rest-hook endpoints must be on loopback. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', 'localhost', '[::1]']);
/**
 * ...and only a gateway's EHR-notification route: a Subscription must not make the sandbox a way
 * to send requests to any other local service.
 */
const WEBHOOK_PATH = '/webhooks/ehr/';
/** The one header a Subscription may add: the credential a gateway's webhook route checks. */
const ALLOWED_HEADER = 'authorization';
/** Both mean "the full resource as FHIR JSON"; absent means an empty notification. */
const FULL_RESOURCE_PAYLOADS: ReadonlySet<string> = new Set(['application/fhir+json', 'application/json']);
/** RFC 9110 token, then the value on the same line. */
const HEADER_LINE = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*)$/;
/** Criteria name a served type; notifications about subscriptions themselves are not offered. */
const CRITERIA_TYPES: ReadonlySet<string> = new Set(
  SANDBOX_RESOURCE_TYPES.filter((type) => type !== 'Subscription'),
);

/** A stored, deliverable Subscription, reduced to what a notification needs. */
export interface RestHook {
  readonly subscriptionId: string;
  readonly endpoint: string;
  /** `payload` asked for the resource; otherwise the notification has an empty body. */
  readonly fullResource: boolean;
  /** `channel.header` entries, split into name and value. */
  readonly headers: readonly (readonly [string, string])[];
  /** The Medplum secret extension's value: the body is signed with it (`X-Signature`). */
  readonly secret: string | undefined;
}

/**
 * Refuses, with a 400 OperationOutcome naming the element, a Subscription the sandbox cannot honour:
 * criteria other than `Type` or `Type?param=value...` on a served type, a channel other than rest-hook,
 * an endpoint that is not a gateway's webhook route over http(s) on loopback, a payload other than FHIR JSON, a malformed header line or
 * secret. Runs on every stored version (create, update, patch, batch entries), after R4 validation.
 */
export function assertDeliverableSubscription(subscription: Subscription): void {
  compileCriteria(subscription.criteria);
  const channel = subscription.channel;
  if (channel.type !== 'rest-hook') {
    throw invalid(
      `Only rest-hook channels are supported by this server, not ${channel.type}`,
      'Subscription.channel.type',
    );
  }
  checkEndpoint(channel.endpoint);
  if (channel.payload !== undefined && !FULL_RESOURCE_PAYLOADS.has(channel.payload)) {
    throw invalid(
      `Unsupported payload ${channel.payload}: use application/fhir+json (the resource) or leave it out (an empty notification)`,
      'Subscription.channel.payload',
    );
  }
  (channel.header ?? []).forEach((line, index) => {
    parseHeader(line, `Subscription.channel.header[${String(index)}]`);
  });
  (subscription.extension ?? []).forEach((extension, index) => {
    if (extension.url === SUBSCRIPTION_SECRET_URL && !extension.valueString) {
      throw invalid(
        'The subscription secret extension needs a non-empty valueString',
        `Subscription.extension[${String(index)}]`,
      );
    }
  });
}

/** A server activates a requested subscription once it accepted it; the sandbox does so on storing it. */
export function activateSubscription(subscription: Subscription): void {
  if (subscription.status === 'requested') {
    subscription.status = 'active';
  }
}

/**
 * The rest-hook to call for this committed resource, if `subscription` is a stored Subscription that is
 * delivering (`requested` or `active`; `off` and `error` are not) and its criteria match the resource.
 */
export function restHookFor(subscription: Resource, resource: Resource): RestHook | undefined {
  if (subscription.resourceType !== 'Subscription' || subscription.id === undefined) {
    return undefined;
  }
  if (subscription.status !== 'active' && subscription.status !== 'requested') {
    return undefined;
  }
  if (!matchesCriteria(subscription.criteria, resource)) {
    return undefined;
  }
  const channel = subscription.channel;
  return {
    subscriptionId: subscription.id,
    endpoint: channel.endpoint ?? '',
    fullResource: channel.payload !== undefined && FULL_RESOURCE_PAYLOADS.has(channel.payload),
    headers: (channel.header ?? []).map((line) => parseHeader(line, 'Subscription.channel.header')),
    secret: subscription.extension?.find((extension) => extension.url === SUBSCRIPTION_SECRET_URL)
      ?.valueString,
  };
}

/** Whether `resource` matches `criteria` (`Patient`, `Patient?gender=female`, ...), as a search would. */
export function matchesCriteria(criteria: string, resource: Resource): boolean {
  let request: SearchRequest;
  try {
    request = compileCriteria(criteria);
  } catch {
    return false; // Stored criteria were checked; this only guards against a definitions change.
  }
  if (request.resourceType !== resource.resourceType) {
    return false;
  }
  return !request.filters?.length || searchResources([resource], request).total > 0;
}

// Compiled per write, not cached: a module-level cache would be state shared by every sandbox in
// the process, and parsing one criteria string costs microseconds.
function compileCriteria(criteria: string): SearchRequest {
  const type = criteria.split('?')[0] ?? '';
  if (!CRITERIA_TYPES.has(type)) {
    throw invalid(
      `Unsupported criteria "${criteria}": a served resource type (${[...CRITERIA_TYPES].join(', ')}), optionally followed by ?param=value search parameters`,
      'Subscription.criteria',
    );
  }
  const parsed = parseSearchRequest(criteria);
  const extra = Object.keys(parsed).filter((key) => key !== 'resourceType' && key !== 'filters');
  if (extra.length > 0) {
    throw invalid(
      `Unsupported criteria "${criteria}": only search parameters that filter are allowed (no _count, _sort, _include, _summary...)`,
      'Subscription.criteria',
    );
  }
  let request: SearchRequest;
  try {
    request = prepareSearchRequest(parsed);
  } catch (err) {
    throw invalid(
      `Unsupported criteria "${criteria}": ${normalizeErrorString(err)}`,
      'Subscription.criteria',
    );
  }
  return request;
}

function checkEndpoint(endpoint: string | undefined): void {
  const where = 'Subscription.channel.endpoint';
  let url: URL;
  try {
    url = new URL(endpoint ?? '');
  } catch {
    throw invalid('A rest-hook needs an absolute http(s) endpoint URL', where);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw invalid(`Endpoint scheme ${url.protocol} refused: http or https only`, where);
  }
  if (!LOOPBACK_HOSTS.has(url.hostname)) {
    throw invalid(
      `Endpoint host ${url.hostname} refused: the sandbox EHR delivers to loopback only (127.0.0.1, localhost, ::1)`,
      where,
    );
  }
  if (!url.pathname.startsWith(WEBHOOK_PATH) || url.username !== '' || url.password !== '') {
    throw invalid(
      `Endpoint path ${url.pathname} refused: the sandbox EHR delivers only to a gateway's ${WEBHOOK_PATH}<connection> route`,
      where,
    );
  }
}

function parseHeader(line: string, where: string): readonly [string, string] {
  const match = HEADER_LINE.exec(line);
  const name = match?.[1];
  if (name === undefined || match?.[2] === undefined) {
    throw invalid('A channel header must be one "Name: value" line', where);
  }
  if (name.toLowerCase() !== ALLOWED_HEADER) {
    throw invalid(`The ${name} header cannot be set by a subscription: only Authorization`, where);
  }
  return [name, match[2].trimEnd()];
}

function invalid(text: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError(badRequest(text, expression));
}
