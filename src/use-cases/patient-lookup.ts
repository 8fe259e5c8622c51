/**
 * Screen pop by caller number. When Continuum's phone index knows the number, the patients under it
 * are read by id (fast on every EHR, where a search over every stored format of a number can be
 * slow) and each read confirms the number is still that patient's. The EHR is searched by phone
 * only when the index misses or a confirmation fails (the number moved to someone else); the
 * patient who no longer has it leaves the index. Only true E.164 matches are ever answered.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { PatientModel } from '../domain/patient';
import type { Freshness } from '../domain/freshness';
import { withDeadline } from '../domain/with-deadline';
import { answerWithin, SLOW } from './answer-within';
import { MAX_LOOKUP_MATCHES, searchPatientsByPhone } from './phone-search';
import { patientCacheKey, rememberPatient, type PatientReadDeps } from './patient-read';
import type { ConnectionContext } from './use-case-deps';

export interface LookupResult {
  readonly found: boolean;
  readonly phone: string;
  readonly matches: readonly PatientModel[];
  /** `cache`: the EHR could not be asked or was slow; matches come from Continuum's phone index and cache. */
  readonly freshness: Freshness;
  /** Patients the phone index knows under this number whose details nothing has cached. */
  readonly matchIds?: readonly string[];
}

/** A cache that does not answer in this long is skipped, as for every continuity read. */
const CACHE_DEADLINE_MS = 250;

/** What the EHR answered, and how: reads by id alone (`index`) or a phone search. */
interface EhrLookup {
  readonly matches: PatientModel[];
  readonly path: 'index' | 'search';
}

/** `e164`: the caller's number as the API read it, in the connection's region. */
export async function lookupPatientsByPhone(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
): Promise<LookupResult> {
  const indexed = await deps.phoneIndex.find(connection.name, e164);
  try {
    if (!(await connection.ehrAvailable())) {
      throw (
        connection.ehrOutage?.() ??
        new ContinuumError('EHR_UNAVAILABLE', {
          detail: `EHR ${connection.name} is unavailable (circuit breaker open)`,
          retryAfterSeconds: 5,
          extra: { breaker: true },
        })
      );
    }
    const key = `lookup:${e164}`;
    const asked = connection.refreshes.running<EhrLookup>(key) ?? askEhr(deps, connection, e164, indexed);
    // A number the index knows may be answered from the cache once the EHR is slower than
    // staleAfterMs; the EHR's answer goes on and refreshes the index and cache (see continuity-read.ts).
    let answer = indexed.length === 0 ? await asked : await answerWithin(asked, connection.staleAfterMs);
    if (answer === SLOW) {
      const cached = await fromCache(deps, connection, e164, indexed);
      if (cached.matches.length > 0) {
        connection.refreshes.keep(key, asked);
        deps.metrics?.cacheFallback(connection.name, 'slow');
        deps.metrics?.lookupAnswered(connection.name, 'cache');
        deps.logger.info(
          { connection: connection.name },
          'lookup answered from the phone index and cache: the EHR is slow, its answer will refresh them',
        );
        return cached;
      }
      answer = await asked;
    }
    const { matches, path } = answer;
    deps.metrics?.lookupAnswered(connection.name, path);
    deps.logger.debug(
      { connection: connection.name, lookupPath: path, matchCount: matches.length },
      'lookup answered by the EHR',
    );
    const now = deps.clock.now().toISOString();
    return { found: matches.length > 0, phone: e164, matches, freshness: { source: 'ehr', asOf: now } };
  } catch (error) {
    if (!isEhrUnavailable(error)) throw error;
    const cached = await lookupFromCache(deps, connection, e164, indexed, error);
    deps.metrics?.lookupAnswered(connection.name, 'cache');
    return cached;
  }
}

/** The EHR's answer, its outcome told to the breaker; its failure handled even when nobody awaits it. */
function askEhr(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<EhrLookup> {
  const asked = (async () => {
    try {
      const answer = await lookupInEhr(deps, connection, e164, indexed);
      await connection.ehrAnswered();
      return answer;
    } catch (error) {
      if (isEhrUnavailable(error)) await connection.ehrFailed(error);
      throw error;
    }
  })();
  asked.catch(() => undefined);
  return asked;
}

/**
 * Reads by id of what the index knows when every one still holds the number; else a phone search,
 * with the patients the reads confirmed added (the index knows patients whose stored format no
 * search variant covers, and EHRs that cannot search by phone at all).
 */
async function lookupInEhr(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<EhrLookup> {
  const reads = await readIndexedPatients(connection, e164, indexed.slice(0, MAX_LOOKUP_MATCHES));
  const byId = new Map(reads.confirmed.map((model) => [model.id, model]));
  // Numbers the EHR no longer holds for a patient leave the index, whatever the search then finds.
  const indexFixed = forgetMovedNumbers(deps, connection, reads.moved);
  let path: EhrLookup['path'] = 'index';
  if (indexed.length > 0 && reads.moved.length === 0) {
    recheckInBackground(deps, connection, e164);
  } else if (connection.capabilities.phoneSearch) {
    path = 'search';
    for (const model of await searchPatientsByPhone(deps, connection, e164, 'lookup')) {
      byId.set(model.id, model);
    }
  }
  await Promise.all([
    indexFixed,
    ...[...byId.values()].map((model) => rememberPatient(deps, connection, model, { cache: true })),
  ]);
  const matches = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)).slice(0, MAX_LOOKUP_MATCHES);
  return { matches, path };
}

interface IndexedReads {
  /** Patients whose record still holds the number. */
  readonly confirmed: PatientModel[];
  /** Patients the index filed under the number who no longer hold it, with the numbers they hold (none: gone). */
  readonly moved: { readonly id: string; readonly phones: readonly string[] }[];
}

/** Each patient the index knows under the number, read by id, all at once. */
async function readIndexedPatients(
  connection: ConnectionContext,
  e164: string,
  ids: readonly string[],
): Promise<IndexedReads> {
  const read = await Promise.all(
    ids.map(async (id) => {
      try {
        const resource = await connection.ehr.read<Patient>('Patient', id, {
          deadlineMs: connection.readDeadline('lookup'),
        });
        return { id, model: connection.mapping.readPatient(resource) };
      } catch (error) {
        if (error instanceof ContinuumError && error.code === 'NOT_FOUND') return { id, model: undefined };
        throw error;
      }
    }),
  );
  const confirmed: PatientModel[] = [];
  const moved: IndexedReads['moved'] = [];
  for (const { id, model } of read) {
    if (model?.phones.includes(e164)) confirmed.push(model);
    else moved.push({ id, phones: model?.phones ?? [] });
  }
  return { confirmed, moved };
}

/** The index entries a read disproved, replaced by what the EHR holds; a slow Redis does not hold the lookup. */
async function forgetMovedNumbers(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  moved: IndexedReads['moved'],
): Promise<void> {
  if (moved.length === 0) return;
  await withDeadline(
    Promise.all(moved.map(({ id, phones }) => deps.phoneIndex.replace(connection.name, id, phones))),
    CACHE_DEADLINE_MS,
    'the phone index',
  ).catch((error: unknown) => {
    deps.logger.warn({ err: error, connection: connection.name }, 'phone index not corrected');
  });
}

/**
 * The reads by id cannot see a patient who took the number outside Continuum (a family member
 * registered at the front desk of a clinic whose EHR sends no notifications). A screen pop is
 * answered with the patients confirmed by id all the same, and one phone search in the background
 * brings any such patient into the index for the next call. That is the right trade for a screen
 * pop: it shows who is probably calling, the agent (or the IVR) verifies identity before anything
 * is disclosed or done, so a second patient on a shared line costs a verification, never a wrong
 * act; while waiting for the search on every call would give back the latency the reads saved
 * and load the EHR with its slowest query. The search runs at most once per number per
 * `lookupRecheckSeconds` and process, one at a time per number; a lookup that did search counts.
 */
function recheckInBackground(deps: PatientReadDeps, connection: ConnectionContext, e164: string): void {
  if (!connection.capabilities.phoneSearch || connection.recentPhoneSearches.has(e164)) return;
  const key = `phone-recheck:${e164}`;
  if (connection.refreshes.running(key) !== undefined) return;
  const recheck = (async () => {
    try {
      const found = await searchPatientsByPhone(deps, connection, e164, 'recheck');
      await connection.ehrAnswered();
      await Promise.all(found.map((model) => rememberPatient(deps, connection, model, { cache: true })));
    } catch (error) {
      if (isEhrUnavailable(error)) await connection.ehrFailed(error);
      deps.logger.warn(
        { connection: connection.name, code: error instanceof ContinuumError ? error.code : 'INTERNAL' },
        'phone index not rechecked: the background phone search failed',
      );
    }
  })();
  connection.refreshes.keep(key, recheck);
}

/** The patients the index knows under this number, as last cached (those not cached by id). */
async function fromCache(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<LookupResult> {
  const ids = indexed.slice(0, MAX_LOOKUP_MATCHES);
  const cached = await Promise.all(
    ids.map((id) =>
      withDeadline(
        deps.readCache.get<PatientModel>(connection.name, patientCacheKey(id)),
        CACHE_DEADLINE_MS,
        'the read cache',
      ).catch(() => undefined),
    ),
  );
  for (const entry of cached) deps.metrics?.cacheRead(connection.name, entry === undefined ? 'miss' : 'hit');
  const matches = cached.flatMap((entry) => (entry === undefined ? [] : [entry.value]));
  const uncached = ids.filter((_id, i) => cached[i] === undefined);
  const asOf =
    cached.flatMap((entry) => (entry === undefined ? [] : [entry.asOf])).sort()[0] ??
    deps.clock.now().toISOString();
  return {
    found: true,
    phone: e164,
    matches,
    freshness: { source: 'cache', asOf },
    ...(uncached.length > 0 ? { matchIds: uncached } : {}),
  };
}

/** The EHR cannot answer: the patients the index knows under this number, as last cached. */
async function lookupFromCache(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
  cause: ContinuumError,
): Promise<LookupResult> {
  if (indexed.length === 0) {
    // Nothing known under this number: an IVR must not tell a caller "not found" because the EHR is down.
    throw cause;
  }
  deps.metrics?.cacheFallback(connection.name, 'unavailable');
  deps.logger.warn(
    { connection: connection.name, err: cause },
    'lookup answered from the phone index and cache',
  );
  return fromCache(deps, connection, e164, indexed);
}
