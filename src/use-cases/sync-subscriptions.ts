/**
 * `continuum subscriptions sync`: keeps, on one EHR, a FHIR R4 rest-hook Subscription per resource type
 * pointing at this gateway's webhook endpoint, signed the way the connection's `webhooks` scheme
 * verifies. Idempotent: what already matches is left alone (no new version), what differs in what we
 * manage is updated under If-Match, what is missing is created. Secrets never appear in the results.
 */
import { ContinuumError } from '../domain/errors';
import type { Resource } from '../domain/fhir';
import type { EhrClient } from '../domain/ports';
import type { SearchTruncation } from '../domain/search-result';

type Subscription = Extract<Resource, { resourceType: 'Subscription' }>;

/** Medplum's extension for a rest-hook's HMAC secret; the EHR then signs each body in `X-Signature`. */
export const SUBSCRIPTION_SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';
/** The full resource in each notification, so the gateway rarely has to read it back. */
export const SUBSCRIPTION_PAYLOAD = 'application/fhir+json';
/** The header Medplum-style signing uses; a connection verifying another header would refuse them all. */
const MEDPLUM_SIGNATURE_HEADER = 'x-signature';
const AUTHORIZATION = /^authorization[ \t]*:[ \t]*/i;
/** Subscriptions for one URL come back in one search: more than this many is not ours to sort out. */
const SEARCH_PAGE = '100';
const SEARCH_MAX_PAGES = 10;

/** The connection's `webhooks` setting: how the gateway verifies what this EHR pushes. */
export type WebhookVerification =
  | { readonly scheme: 'hmac-sha256'; readonly secret: string; readonly header: string }
  | { readonly scheme: 'standard-webhooks'; readonly secret: string }
  | { readonly scheme: 'bearer'; readonly secret: string };

export interface SubscriptionTarget {
  /** The connection name, for the results. */
  readonly connection: string;
  /** The gateway's `/webhooks/ehr/<connection>` as the EHR reaches it. */
  readonly publicUrl: string;
  readonly resources: readonly string[];
  readonly webhooks: WebhookVerification | undefined;
}

export type SyncResult =
  | {
      readonly connection: string;
      readonly resourceType: string;
      readonly action: 'created' | 'updated' | 'unchanged';
      readonly subscriptionId: string;
      /** Other Subscriptions for the same URL and type (left alone: each doubles the notifications). */
      readonly duplicates: readonly string[];
    }
  | {
      readonly connection: string;
      /** Absent when the whole connection was skipped. */
      readonly resourceType?: string;
      readonly action: 'error';
      readonly detail: string;
    };

export interface SyncOptions {
  /** Deadline of each EHR call, in ms. */
  readonly deadlineMs?: number;
}

/** How the EHR is told to authenticate its notifications. */
interface Signing {
  readonly secretExtension: string | undefined;
  readonly authorization: string | undefined;
}

export async function syncSubscriptions(
  ehr: EhrClient,
  target: SubscriptionTarget,
  options: SyncOptions = {},
): Promise<readonly SyncResult[]> {
  const secrets = target.webhooks ? [target.webhooks.secret] : [];
  const signing = signingFor(target);
  if (typeof signing === 'string') {
    return [{ connection: target.connection, action: 'error', detail: signing }];
  }
  const call = options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {};
  let existing: readonly Subscription[];
  let truncated: SearchTruncation | undefined;
  try {
    const found = await ehr.searchPages<Subscription>(
      'Subscription',
      { url: target.publicUrl, _count: SEARCH_PAGE },
      { ...call, maxPages: SEARCH_MAX_PAGES },
    );
    // Servers match `url` loosely (some as a prefix): only this exact endpoint counts.
    existing = found.matches.filter((s) => s.channel.endpoint === target.publicUrl);
    truncated = found.truncated;
  } catch (error) {
    return [{ connection: target.connection, action: 'error', detail: describe(error, secrets) }];
  }
  const results: SyncResult[] = [];
  for (const resourceType of target.resources) {
    // A Subscription not on the pages read may still exist: creating one would double its notifications.
    if (truncated !== undefined && !existing.some((s) => s.criteria === resourceType)) {
      results.push({
        connection: target.connection,
        resourceType,
        action: 'error',
        detail: `the EHR's list of Subscriptions for this URL was cut short (${describeTruncation(truncated, target.connection)}): none found for ${resourceType} on the ${truncated.pagesRead} page(s) read, and one may be on the others; nothing created`,
      });
      continue;
    }
    try {
      results.push(await syncOne(ehr, target, resourceType, signing, existing, call));
    } catch (error) {
      results.push({
        connection: target.connection,
        resourceType,
        action: 'error',
        detail: describe(error, secrets),
      });
    }
  }
  return results;
}

/** `sandbox Patient: created Subscription/abc`, `sandbox: error: ...`: one line, no secret. */
export function formatSyncResult(result: SyncResult): string {
  const subject =
    result.resourceType === undefined ? result.connection : `${result.connection} ${result.resourceType}`;
  if (result.action === 'error') {
    return `${subject}: error: ${result.detail}`;
  }
  const others =
    result.duplicates.length > 0
      ? ` (also ${result.duplicates.map((id) => `Subscription/${id}`).join(', ')} for this URL and type)`
      : '';
  return `${subject}: ${result.action} Subscription/${result.subscriptionId}${others}`;
}

async function syncOne(
  ehr: EhrClient,
  target: SubscriptionTarget,
  resourceType: string,
  signing: Signing,
  existing: readonly Subscription[],
  call: { readonly deadlineMs?: number },
): Promise<SyncResult> {
  const desired = desiredSubscription(target, resourceType, signing);
  const candidates = existing.filter((s) => s.criteria === resourceType);
  // Of several, keep the one already right (no write), else the first; the others are reported.
  const chosen = candidates.find((s) => managedState(s) === managedState(desired)) ?? candidates[0];
  const duplicates = candidates.flatMap((s) => (s !== chosen && s.id !== undefined ? [s.id] : []));
  const base = { connection: target.connection, resourceType, duplicates };
  if (chosen?.id === undefined) {
    const { resource } = await ehr.create(desired, call);
    return { ...base, action: 'created', subscriptionId: resource.id ?? '' };
  }
  const next = withManagedFields(chosen, desired);
  if (managedState(next) === managedState(chosen)) {
    return { ...base, action: 'unchanged', subscriptionId: chosen.id };
  }
  const version = chosen.meta?.versionId;
  const updated = await ehr.update(next, {
    ...call,
    ...(version !== undefined ? { ifMatchVersion: version } : {}),
  });
  return { ...base, action: 'updated', subscriptionId: updated.id ?? chosen.id };
}

/** Why this connection cannot be synced, or how its Subscriptions must authenticate themselves. */
function signingFor(target: SubscriptionTarget): Signing | string {
  const webhooks = target.webhooks;
  if (webhooks === undefined) {
    return `no webhooks configured: the gateway would refuse every notification; set connections.${target.connection}.webhooks (hmac-sha256 or bearer)`;
  }
  switch (webhooks.scheme) {
    case 'hmac-sha256':
      if (webhooks.header.toLowerCase() !== MEDPLUM_SIGNATURE_HEADER) {
        return `webhooks.header ${webhooks.header}: a FHIR Subscription's secret extension makes the EHR sign in X-Signature; set webhooks.header to x-signature`;
      }
      return { secretExtension: webhooks.secret, authorization: undefined };
    case 'bearer':
      return { secretExtension: undefined, authorization: `Bearer ${webhooks.secret}` };
    case 'standard-webhooks':
      return 'webhooks.scheme standard-webhooks: FHIR R4 Subscriptions cannot sign that way; use hmac-sha256 or bearer for this connection';
  }
}

function desiredSubscription(
  target: SubscriptionTarget,
  resourceType: string,
  signing: Signing,
): Subscription {
  return {
    resourceType: 'Subscription',
    status: 'active',
    reason: `Continuum: ${resourceType} changes for connection ${target.connection}`,
    criteria: resourceType,
    channel: {
      type: 'rest-hook',
      endpoint: target.publicUrl,
      payload: SUBSCRIPTION_PAYLOAD,
      ...(signing.authorization !== undefined ? { header: [`Authorization: ${signing.authorization}`] } : {}),
    },
    ...(signing.secretExtension !== undefined
      ? { extension: [{ url: SUBSCRIPTION_SECRET_URL, valueString: signing.secretExtension }] }
      : {}),
  };
}

/** `existing` with what we manage taken from `desired`; its other headers, extensions and fields kept. */
function withManagedFields(existing: Subscription, desired: Subscription): Subscription {
  const header = [
    ...(existing.channel.header ?? []).filter((line) => !AUTHORIZATION.test(line)),
    ...(desired.channel.header ?? []),
  ];
  const extension = [
    ...(existing.extension ?? []).filter((e) => e.url !== SUBSCRIPTION_SECRET_URL),
    ...(desired.extension ?? []),
  ];
  const { header: _header, ...channel } = existing.channel;
  const { extension: _extension, ...rest } = existing;
  return {
    ...rest,
    status: 'active',
    criteria: desired.criteria,
    channel: {
      ...channel,
      type: desired.channel.type,
      endpoint: desired.channel.endpoint,
      payload: desired.channel.payload,
      ...(header.length > 0 ? { header } : {}),
    },
    ...(extension.length > 0 ? { extension } : {}),
  };
}

/** What sync is responsible for, comparable as a string. `requested` is a server still activating it. */
function managedState(s: Subscription): string {
  return JSON.stringify({
    active: s.status === 'active' || s.status === 'requested',
    criteria: s.criteria,
    type: s.channel.type,
    endpoint: s.channel.endpoint,
    payload: s.channel.payload,
    secrets: (s.extension ?? []).filter((e) => e.url === SUBSCRIPTION_SECRET_URL).map((e) => e.valueString),
    authorization: (s.channel.header ?? [])
      .filter((line) => AUTHORIZATION.test(line))
      .map((line) => line.replace(AUTHORIZATION, '').trim()),
  });
}

/** Why a search stopped early, for an operator: what to change to get the whole list. */
function describeTruncation(truncated: SearchTruncation, connection: string): string {
  switch (truncated.reason) {
    case 'page-limit':
      return `more than ${SEARCH_MAX_PAGES} pages`;
    case 'next-link-origin':
      return `the next page is on a host the connection does not allow: see connections.${connection}.paging.allowedOrigins`;
    case 'next-link-downgrade':
      return `the next page is on plain http: list its origin in connections.${connection}.paging.allowedOrigins to allow it`;
    case 'next-link-invalid':
      return 'the next page link is not a usable URL';
    case 'page-failed':
      return 'a later page failed';
  }
}

/** A PHI-free, secret-free reason: our error code and, when the EHR said why, its words. */
function describe(error: unknown, secrets: readonly string[]): string {
  let text: string;
  if (error instanceof ContinuumError) {
    const said = outcomeText(error.outcome);
    text = `${error.code}: ${error.detail ?? error.message}${said !== undefined ? `: ${said}` : ''}`;
  } else {
    text = error instanceof Error ? error.message : String(error);
  }
  return secrets.reduce((out, secret) => (secret === '' ? out : out.split(secret).join('***')), text);
}

function outcomeText(outcome: unknown): string | undefined {
  if (typeof outcome !== 'object' || outcome === null) return undefined;
  const issues: unknown = (outcome as { issue?: unknown }).issue;
  if (!Array.isArray(issues)) return undefined;
  const texts = issues.flatMap((issue: unknown) => {
    const item = issue as { details?: { text?: unknown }; diagnostics?: unknown } | null;
    const text = item?.details?.text ?? item?.diagnostics;
    return typeof text === 'string' ? [text] : [];
  });
  return texts.length > 0 ? texts.join('; ') : undefined;
}
