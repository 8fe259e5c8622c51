/**
 * Screen pop by caller number. EHRs match `Patient?phone=` against the stored text exactly and
 * some cannot search by phone at all, so the lookup asks for every format the number may have
 * been stored in, keeps only true E.164 matches, and adds what Continuum's own phone index knows.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { PatientModel } from '../domain/patient';
import type { Freshness } from '../domain/freshness';
import { withDeadline } from '../domain/with-deadline';
import { answerWithin, SLOW } from './answer-within';
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

/** A family line can be shared; past this many matches the agent must verify identity anyway. */
const MAX_MATCHES = 20;

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
    const asked =
      connection.refreshes.running<PatientModel[]>(key) ?? askEhr(deps, connection, e164, indexed);
    // A number the index knows may be answered from the cache once the EHR is slower than
    // staleAfterMs; the search goes on and refreshes the index and cache (see continuity-read.ts).
    let matches = indexed.length === 0 ? await asked : await answerWithin(asked, connection.staleAfterMs);
    if (matches === SLOW) {
      const cached = await fromCache(deps, connection, e164, indexed);
      if (cached.matches.length > 0) {
        connection.refreshes.keep(key, asked);
        deps.metrics?.cacheFallback(connection.name, 'slow');
        deps.logger.info(
          { connection: connection.name },
          'lookup answered from the phone index and cache: the EHR is slow, its answer will refresh them',
        );
        return cached;
      }
      matches = await asked;
    }
    const now = deps.clock.now().toISOString();
    return { found: matches.length > 0, phone: e164, matches, freshness: { source: 'ehr', asOf: now } };
  } catch (error) {
    if (!isEhrUnavailable(error)) throw error;
    return lookupFromCache(deps, connection, e164, indexed, error);
  }
}

/** The search, its outcome told to the breaker; its failure handled even when nobody awaits it. */
function askEhr(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<PatientModel[]> {
  const asked = (async () => {
    try {
      const matches = await searchEhr(deps, connection, e164, indexed);
      await connection.ehrAnswered();
      return matches;
    } catch (error) {
      if (isEhrUnavailable(error)) await connection.ehrFailed(error);
      throw error;
    }
  })();
  asked.catch(() => undefined);
  return asked;
}

/** The EHR's answer: a search over every stored format, plus what the index knows, confirmed by reads. */
async function searchEhr(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<PatientModel[]> {
  // An EHR that cannot search by phone is asked only to confirm what the phone index knows.
  const searched = !connection.capabilities.phoneSearch
    ? []
    : await connection.ehr.search<Patient>(
        'Patient',
        {
          phone: connection.phoneSearchValue(e164),
          _count: String(MAX_MATCHES),
        },
        { deadlineMs: connection.readDeadline('lookup') },
      );
  const byId = new Map<string, PatientModel>();
  for (const resource of searched) {
    const model = connection.mapping.readPatient(resource);
    if (model.phones.includes(e164)) byId.set(model.id, model);
  }
  // The index knows patients whose stored format no search variant covers; confirm each by a read.
  const missing = indexed.filter((id) => !byId.has(id)).slice(0, MAX_MATCHES);
  const confirmed = await Promise.all(
    missing.map(async (id) => {
      try {
        const resource = await connection.ehr.read<Patient>('Patient', id, {
          deadlineMs: connection.readDeadline('lookup'),
        });
        return connection.mapping.readPatient(resource);
      } catch (error) {
        if (error instanceof ContinuumError && error.code === 'NOT_FOUND') return undefined;
        throw error;
      }
    }),
  );
  for (const model of confirmed) {
    if (model?.phones.includes(e164)) byId.set(model.id, model);
  }
  const stale = missing.filter((id) => !byId.has(id));
  await Promise.all([
    ...[...byId.values()].map((model) => rememberPatient(deps, connection, model, { cache: true })),
    // Numbers the EHR no longer holds for a patient leave the index.
    ...stale.map((id) =>
      deps.phoneIndex.replace(connection.name, id, confirmed.find((m) => m?.id === id)?.phones ?? []),
    ),
  ]);
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)).slice(0, MAX_MATCHES);
}

/** The patients the index knows under this number, as last cached (those not cached by id). */
async function fromCache(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  e164: string,
  indexed: readonly string[],
): Promise<LookupResult> {
  const ids = indexed.slice(0, MAX_MATCHES);
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
