/**
 * Every read goes to the EHR under its deadline; each good answer is kept in the continuity cache,
 * and when the EHR cannot answer (down, slow past the deadline, breaker open) the last good answer
 * is served instead, marked with its age. An agent in a crisis still sees the patient.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { FreshRead } from '../domain/freshness';
import { withDeadline } from '../domain/with-deadline';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** A cache that does not answer in this long is skipped: the read must not wait on it. */
const CACHE_DEADLINE_MS = 250;

export type ContinuityDeps = Pick<UseCaseDeps, 'readCache' | 'clock' | 'logger'>;

export async function readWithContinuity<T>(
  deps: ContinuityDeps,
  connection: ConnectionContext,
  cacheKey: string,
  fetch: () => Promise<T>,
  options: { readonly group?: string } = {},
): Promise<FreshRead<T>> {
  let unavailable: ContinuumError | undefined;
  if (await connection.ehrAvailable()) {
    try {
      const value = await fetch();
      const asOf = deps.clock.now();
      await Promise.all([
        withDeadline(
          deps.readCache.put(connection.name, cacheKey, value, asOf, options.group),
          CACHE_DEADLINE_MS,
          'the read cache',
        ).catch((error: unknown) => {
          deps.logger.warn({ err: error, connection: connection.name }, 'continuity cache not refreshed');
        }),
        connection.ehrAnswered(),
      ]);
      return { value, freshness: { source: 'ehr', asOf: asOf.toISOString() } };
    } catch (error) {
      if (!isEhrUnavailable(error)) throw error;
      unavailable = error;
      await connection.ehrFailed(error);
    }
  }
  const cached = await withDeadline(
    deps.readCache.get<T>(connection.name, cacheKey),
    CACHE_DEADLINE_MS,
    'the read cache',
  ).catch(() => undefined);
  if (cached !== undefined) {
    deps.logger.info(
      { connection: connection.name, asOf: cached.asOf },
      'read answered from the continuity cache',
    );
    return { value: cached.value, freshness: { source: 'cache', asOf: cached.asOf } };
  }
  throw (
    unavailable ??
    connection.ehrOutage?.() ??
    new ContinuumError('EHR_UNAVAILABLE', {
      detail: `EHR ${connection.name} is unavailable (circuit breaker open) and nothing is cached for this read`,
      retryAfterSeconds: 5,
    })
  );
}
