/**
 * Every read goes to the EHR under its deadline; each good answer is kept in the continuity cache,
 * and when the EHR cannot answer (down, slow past the deadline, breaker open) the last good answer
 * is served instead, marked with its age. An agent in a crisis still sees the patient. An EHR that
 * is merely slow (or hung) costs a read with a cached answer only `staleAfterMs`.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { FreshRead } from '../domain/freshness';
import type { CachedRead } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';
import { answerWithin, SLOW } from './answer-within';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** A cache that does not answer in this long is skipped: the read must not wait on it. */
const CACHE_DEADLINE_MS = 250;

export type ContinuityDeps = Pick<UseCaseDeps, 'readCache' | 'clock' | 'logger' | 'metrics'>;

interface EhrAnswer<T> {
  readonly value: T;
  readonly asOf: Date;
}

/** The cached answer, or undefined when there is none or the cache does not answer in time. */
async function cachedAnswer<T>(
  deps: ContinuityDeps,
  connection: ConnectionContext,
  cacheKey: string,
): Promise<CachedRead<T> | undefined> {
  const cached = await withDeadline(
    deps.readCache.get<T>(connection.name, cacheKey),
    CACHE_DEADLINE_MS,
    'the read cache',
  ).catch(() => undefined);
  deps.metrics?.cacheRead(connection.name, cached === undefined ? 'miss' : 'hit');
  return cached;
}

/** One EHR read, its good answer kept in the cache, its outcome told to the breaker. */
function askEhr<T>(
  deps: ContinuityDeps,
  connection: ConnectionContext,
  cacheKey: string,
  fetch: () => Promise<T>,
  group: string | undefined,
): Promise<EhrAnswer<T>> {
  const asked = (async (): Promise<EhrAnswer<T>> => {
    let value: T;
    try {
      value = await fetch();
    } catch (error) {
      if (isEhrUnavailable(error)) await connection.ehrFailed(error);
      throw error;
    }
    const asOf = deps.clock.now();
    await Promise.all([
      withDeadline(
        deps.readCache.put(connection.name, cacheKey, value, asOf, group),
        CACHE_DEADLINE_MS,
        'the read cache',
      ).catch((error: unknown) => {
        deps.logger.warn({ err: error, connection: connection.name }, 'continuity cache not refreshed');
      }),
      connection.ehrAnswered(),
    ]);
    return { value, asOf };
  })();
  // Once a caller was answered from the cache, nobody awaits this read; its failure is already told.
  asked.catch(() => undefined);
  return asked;
}

/**
 * Stale while revalidate: with an answer cached, the EHR is waited for only `staleAfterMs`; past
 * that the read is answered from the cache and the EHR's read goes on in the background, refreshing
 * the cache when it lands. At most one such refresh per key runs at a time: later reads of the key
 * join it rather than sending another request to a slow EHR. With nothing cached, the read waits
 * for the EHR up to its full deadline, as the cache has nothing to offer.
 */
export async function readWithContinuity<T>(
  deps: ContinuityDeps,
  connection: ConnectionContext,
  cacheKey: string,
  fetch: () => Promise<T>,
  options: { readonly group?: string } = {},
): Promise<FreshRead<T>> {
  let unavailable: ContinuumError | undefined;
  if (await connection.ehrAvailable()) {
    const asked =
      connection.refreshes.running<EhrAnswer<T>>(cacheKey) ??
      askEhr(deps, connection, cacheKey, fetch, options.group);
    try {
      let answer = await answerWithin(asked, connection.staleAfterMs);
      if (answer === SLOW) {
        const cached = await cachedAnswer<T>(deps, connection, cacheKey);
        if (cached !== undefined) {
          connection.refreshes.keep(cacheKey, asked);
          deps.metrics?.cacheFallback(connection.name, 'slow');
          deps.logger.info(
            { connection: connection.name, asOf: cached.asOf },
            'read answered from the continuity cache: the EHR is slow, its answer will refresh the cache',
          );
          return { value: cached.value, freshness: { source: 'cache', asOf: cached.asOf } };
        }
        answer = await asked;
      }
      return { value: answer.value, freshness: { source: 'ehr', asOf: answer.asOf.toISOString() } };
    } catch (error) {
      if (!isEhrUnavailable(error)) throw error;
      unavailable = error;
    }
  }
  const cached = await cachedAnswer<T>(deps, connection, cacheKey);
  if (cached !== undefined) {
    deps.metrics?.cacheFallback(connection.name, 'unavailable');
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
