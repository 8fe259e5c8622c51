/**
 * When slots and appointments start, as the EHR last said: remembered from the slots offered to
 * callers and the appointments shown to agents, so that a booking or cancellation taken while the
 * EHR is down can still be judged urgent (tomorrow's appointment) from what the agent was shown.
 */
import { withDeadline } from '../domain/with-deadline';
import type { UseCaseDeps } from './use-case-deps';

export type StartKind = 'Slot' | 'Appointment';

export type KnownStartDeps = Pick<UseCaseDeps, 'readCache' | 'logger' | 'enqueueTimeoutMs'>;

const keyOf = (kind: StartKind, id: string): string => `start:${kind}/${id}`;

/** Remembers the starts of what the EHR just answered; a failure costs an estimate, never a read. */
export async function rememberStarts(
  deps: Pick<UseCaseDeps, 'readCache' | 'logger'>,
  connection: string,
  kind: StartKind,
  items: readonly { readonly id: string; readonly start: string | undefined }[],
  asOf: Date,
): Promise<void> {
  const known = items.filter((item) => item.start !== undefined);
  await Promise.all(
    known.map((item) => deps.readCache.put(connection, keyOf(kind, item.id), item.start, asOf)),
  ).catch((error: unknown) => {
    deps.logger.debug({ connection, kind, err: error }, 'starts not remembered');
  });
}

/** The remembered start, undefined when unknown or when the cache does not answer in time. */
export async function knownStart(
  deps: KnownStartDeps,
  connection: string,
  kind: StartKind,
  id: string,
): Promise<string | undefined> {
  try {
    const cached = await withDeadline(
      deps.readCache.get<string>(connection, keyOf(kind, id)),
      // A small share of the write's budget: the write itself must still be stored in time.
      Math.max(50, Math.floor(deps.enqueueTimeoutMs / 4)),
      'the read cache',
    );
    return typeof cached?.value === 'string' ? cached.value : undefined;
  } catch (error) {
    deps.logger.debug({ connection, kind, err: error }, 'start not known: the cache did not answer');
    return undefined;
  }
}
