/**
 * POST /webhooks/ehr/:connection, after the signature was verified: de-duplicate, note gaps, and
 * queue durably; the EHR gets its 2xx only once the notification is in Redis. A notification seen
 * before (same event id, or same resource version) is refused as a replay and nothing is queued.
 *
 * What identifies a notification must be covered by its signature, or a replay with a fresh id
 * would be taken as new: the sender's id only where the scheme signs it (Standard Webhooks);
 * otherwise the resource version or the signed bytes themselves.
 */
import { createHash } from 'node:crypto';
import { ContinuumError } from '../domain/errors';
import { withDeadline } from '../domain/with-deadline';
import { parseNotification, type ParsedNotification } from './ehr-notification';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface AcceptedNotification {
  readonly eventId: string;
  readonly refs: number;
  readonly reread: boolean;
}

const digest = (rawBody: Buffer): string => `sha256:${createHash('sha256').update(rawBody).digest('hex')}`;

/**
 * Notifications that name no resource (an empty rest-hook body, a heartbeat) repeat the same bytes,
 * so only the sender's id tells two apart. Taking it unsigned is safe for them: they carry nothing
 * to apply, at most they make the worker re-read from the EHR what changed since the last one. Its
 * own namespace keeps a made-up id from claiming the identity of a real notification to come.
 */
function namelessIdentity(
  parsed: ParsedNotification,
  unsignedEventId: string | undefined,
): string | undefined {
  return parsed.refs.length === 0 && unsignedEventId !== undefined
    ? `nameless:${unsignedEventId}`
    : undefined;
}

export async function acceptEhrNotification(
  deps: Pick<
    UseCaseDeps,
    'notificationLog' | 'notifications' | 'clock' | 'logger' | 'enqueueTimeoutMs' | 'metrics'
  >,
  connection: ConnectionContext,
  rawBody: Buffer,
  ids: { readonly signedEventId: string | undefined; readonly unsignedEventId: string | undefined },
): Promise<AcceptedNotification> {
  const parsed = parseNotification(rawBody);
  const now = deps.clock.now();
  const eventId =
    ids.signedEventId ??
    parsed.bodyIdentity ??
    namelessIdentity(parsed, ids.unsignedEventId) ??
    digest(rawBody);
  const log = deps.notificationLog;
  const within = <T>(work: Promise<T>): Promise<T> =>
    withDeadline(work, deps.enqueueTimeoutMs, 'the notification log');

  if (!(await within(log.claim(connection.name, eventId)))) {
    deps.metrics?.ehrNotification(connection.name, 'duplicate');
    throw new ContinuumError('DUPLICATE_EVENT', { detail: 'this notification was already received' });
  }
  try {
    const previous = await within(log.touch(connection.name, now));
    let rereadSince: string | undefined;
    // An empty notification says only that something changed: re-read since the last one arrived.
    if (parsed.ping) rereadSince = previous ?? now.toISOString();
    const [first] = parsed.eventNumbers;
    const last = parsed.eventNumbers.at(-1);
    if (parsed.subscription !== undefined && first !== undefined && last !== undefined) {
      const before = await within(log.advance(connection.name, parsed.subscription, last, now));
      // A heartbeat's count above the last event seen, or an event number past the next one.
      const missing =
        before === undefined ? 0 : parsed.countOnly ? first - before.number : first - before.number - 1;
      if (before !== undefined && missing > 0) {
        // Events before this one never arrived: re-read whatever changed since the last one did.
        deps.logger.warn(
          { connection: connection.name, missing },
          'EHR notifications missing; re-reading what changed since the last one',
        );
        rereadSince = before.at;
      }
    }
    await within(
      deps.notifications.enqueue({
        connection: connection.name,
        eventId,
        refs: parsed.refs,
        rereadSince,
        receivedAt: now.toISOString(),
      }),
    );
    deps.metrics?.ehrNotification(connection.name, 'accepted');
    deps.logger.info(
      {
        connection: connection.name,
        refs: parsed.refs.map((r) => `${r.resourceType}/${r.id}`),
        reread: rereadSince !== undefined,
      },
      'EHR notification queued',
    );
    return { eventId, refs: parsed.refs.length, reread: rereadSince !== undefined };
  } catch (error) {
    // Not queued: the EHR will send it again, and that retry must be taken.
    await log.release(connection.name, eventId).catch(() => undefined);
    throw error;
  }
}
