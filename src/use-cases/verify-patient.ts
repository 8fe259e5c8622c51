/**
 * Identity verification of a caller: birth date plus family name, MRN or phone number (all that
 * are given must match). The EHR is asked for candidates by everything but the birth date, and
 * every factor of every candidate is compared here, always, in constant time: a right birth date
 * and a wrong one cost the same work, so the time of an answer tells nothing. Exactly one
 * confirmed patient verifies; none or several (a shared family line, twins) do not. The answer
 * never says which field failed. Failed attempts are limited per client and caller, and per
 * patient (see `verification-hold.ts`). When the EHR cannot answer, a candidate the agent already
 * has (`patientId`) is checked against the continuity cache; without one there is nothing safe to
 * check against.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { Freshness } from '../domain/freshness';
import type { SearchParams } from '../domain/ports';
import type { PatientModel } from '../domain/patient';
import { withDeadline } from '../domain/with-deadline';
import { escapeFhirSearchValue, fhirSearchAlternatives, normalizePhone, type CountryCode } from '../phone';
import { matchFactors, type IdentityClaim } from './identity-match';
import { patientCacheKey, rememberPatient } from './patient-read';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';
import { giveBackAgainst, isPatientHeld, reserveAgainst, settleAttempt } from './verification-hold';

export { foldName, matchesClaim, type IdentityClaim } from './identity-match';

/** Who is attempting, for the attempt limit: the calling number, else the call's id, else the client IP. */
export interface CallerKey {
  readonly kind: 'caller-id' | 'contact' | 'ip';
  readonly value: string;
}

export interface VerifyRequest extends IdentityClaim {
  /** The patient the agent already has on screen: verify against this one only. */
  readonly patientId?: string | undefined;
  readonly caller: CallerKey;
  /**
   * The authenticated client asking: failures count per client and caller, so wrong guesses one
   * client sends with a real patient's number never lock that patient out of another client's desk.
   */
  readonly client: string;
  /**
   * The client is an agent desk: it may correct records (`patients:write`), which self-service
   * IVRs are not given. Naming the patient on its screen (`patientId`), it is not held by the
   * per-patient hold (its failures still count).
   */
  readonly agentDesk?: boolean | undefined;
}

export type VerifyResult = (
  | { readonly verified: true; readonly patientId: string; readonly freshness: Freshness }
  | { readonly verified: false; readonly freshness: Freshness }
) & {
  /**
   * The patients the attempt was against (for the audit trail, never for the caller): a failed
   * guess is recorded against the patient it tried to be, as a right one is.
   */
  readonly attemptedAgainst: readonly string[];
};

export type VerifyDeps = Pick<
  UseCaseDeps,
  | 'attemptLimiter'
  | 'patientHold'
  | 'events'
  | 'phoneIndex'
  | 'readCache'
  | 'clock'
  | 'logger'
  | 'enqueueTimeoutMs'
  | 'metrics'
>;

/** Why an attempt failed: logged (never answered) so that support can tell a typo from a shared line. */
type Outcome = 'verified' | 'no-match' | 'ambiguous' | 'too-many-candidates';

/** The patients an attempt is about, before anything about the birth date is known. */
interface Candidates {
  /** Candidates to compare the claim with: the named patient, or those every other factor picks. */
  readonly models: readonly PatientModel[];
  /** The patients the attempt is against: a failure counts against each, and a hold on one refuses it. */
  readonly targets: readonly string[];
  /** The search filled its page: a match on it could still have a twin on the next. */
  readonly incomplete: boolean;
  readonly freshness: Freshness;
}

interface Decision {
  readonly outcome: Outcome;
  readonly patientId: string | undefined;
  readonly freshness: Freshness;
}

/** Candidates asked of the EHR at most; a full page means uniqueness cannot be told. */
const SEARCH_LIMIT = 100;
/** Patients the phone index knows under a number, confirmed by reads at most. */
const MAX_INDEXED_READS = 20;
/** Targets of a search whose record is refreshed in the cache and phone index, at most. */
const MAX_REMEMBERED = 5;
/** The index and the cache are shortcuts: a slow Redis must not hold a verification. */
const SHORTCUT_DEADLINE_MS = 250;

/**
 * The attempt-limit key of a caller. A calling number counts the same however it is written;
 * the limiter stores only a keyed hash of it.
 */
export function callerKeyOf(caller: CallerKey, region: CountryCode): string {
  switch (caller.kind) {
    case 'caller-id': {
      const value = caller.value.trim();
      return `ani:${normalizePhone(value, region) ?? value.toLowerCase()}`;
    }
    case 'contact':
      return `contact:${caller.value}`;
    case 'ip':
      return `ip:${caller.value}`;
  }
}

/** A value as typed and without its accents, as comma-separated search alternatives. */
function withAndWithoutAccents(value: string): string {
  const plain = value.normalize('NFKD').replace(/\p{M}/gu, '');
  return fhirSearchAlternatives([...new Set([value, plain].filter((v) => v !== ''))]);
}

/**
 * The family-name search values, narrowest first. FHIR string search matches the start of the
 * stored name (ignoring case and accents) but not its spaces, hyphens or apostrophes: the first
 * word as typed finds "García-López" for "garcia lopez", and the name's initial, asked only when
 * the word found nobody of that name, finds it for "garcialopez" (and "O'Brien" for "OBrien"), so
 * that a second patient who matches is never missed. The name is compared in full on each.
 */
function familySearchValues(family: string): string[] {
  const text = family.normalize('NFC');
  const word = /[\p{L}\p{M}\p{N}]+/u.exec(text)?.[0] ?? text.trim();
  const initial = /[\p{L}\p{N}]/u.exec(text)?.[0] ?? text.trim();
  return [...new Set([withAndWithoutAccents(word), withAndWithoutAccents(initial)])];
}

/**
 * The EHR searches for candidates, tried in order until one finds a patient every other factor
 * matches: the most selective factor given (MRN, then phone in every format it may be stored in,
 * then the family name). Never the birth date: a search that finds the patient only when the
 * birth date is right answers a right guess in another time than a wrong one. Empty when only the
 * phone index can find candidates (an EHR that cannot search by phone, and no family name).
 */
export function candidateSearches(
  claim: IdentityClaim,
  phoneSearchValue: (e164: string) => string,
  phoneSearch = true,
): SearchParams[] {
  const base = { _count: String(SEARCH_LIMIT) };
  if (claim.mrn !== undefined) return [{ ...base, identifier: escapeFhirSearchValue(claim.mrn) }];
  if (claim.phone !== undefined && phoneSearch) return [{ ...base, phone: phoneSearchValue(claim.phone) }];
  if (claim.family !== undefined)
    return familySearchValues(claim.family).map((family) => ({ ...base, family }));
  if (claim.phone !== undefined) return [];
  throw new ContinuumError('VALIDATION', {
    detail: 'family, mrn or phone is required',
    extra: { errors: [{ field: 'family', message: 'is required unless mrn or phone is given' }] },
  });
}

export async function verifyPatient(
  deps: VerifyDeps,
  connection: ConnectionContext,
  request: VerifyRequest,
): Promise<VerifyResult> {
  const key = `client:${request.client}\n${callerKeyOf(request.caller, connection.phoneRegion)}`;
  const log = { connection: connection.name, caller: request.caller.kind };
  // Fails closed: without the limiter, attempts could not be counted.
  const decision = await withDeadline(
    deps.attemptLimiter.reserve(key),
    deps.enqueueTimeoutMs,
    'the attempt limiter',
  );
  if (!decision.allowed) {
    deps.metrics?.verification('refused');
    deps.metrics?.rateLimitRefusal('verify-caller');
    deps.logger.info(
      { ...log, outcome: 'refused', patientId: request.patientId },
      'identity verification refused: too many failed attempts',
    );
    throw new ContinuumError('TOO_MANY_ATTEMPTS', {
      detail: 'too many failed verification attempts from this caller; try again later',
      retryAfterSeconds: decision.retryAfterSeconds,
    });
  }
  // The agent desk serving the patient on its screen is not held (only counted); everyone else is.
  const enforce = !(request.agentDesk === true && request.patientId !== undefined);

  let candidates: Candidates;
  let reserved: readonly string[] = [];
  try {
    // A named patient's attempt is taken (or refused, when held) before the EHR is even asked.
    if (request.patientId !== undefined) {
      await reserveAgainst(deps, connection, [request.patientId], enforce);
      reserved = [request.patientId];
    }
    candidates = await gather(deps, connection, request);
    if (request.patientId === undefined) {
      await reserveAgainst(deps, connection, candidates.targets, enforce);
      reserved = candidates.targets;
    }
  } catch (error) {
    // No answer was given, so nothing was guessed: the attempt does not count.
    await Promise.all([giveBack(deps, key), giveBackAgainst(deps, connection, reserved)]);
    const outcome = isPatientHeld(error) ? 'held' : 'error';
    deps.metrics?.verification(outcome);
    if (outcome === 'held') deps.metrics?.rateLimitRefusal('verify-patient');
    deps.logger.info(
      { ...log, outcome, patientId: request.patientId, err: outcome === 'held' ? undefined : error },
      outcome === 'held'
        ? 'identity verification refused: verification of this patient is on hold'
        : 'identity verification not answered',
    );
    throw error;
  }

  const result = judge(candidates, request);
  await settleAttempt(deps, connection, key, candidates.targets, result.outcome !== 'verified');
  deps.metrics?.verification(result.outcome);
  deps.logger.info(
    {
      ...log,
      outcome: result.outcome,
      patientId: result.patientId ?? request.patientId,
      source: result.freshness.source,
      agentDesk: request.agentDesk === true,
    },
    'identity verification',
  );
  const attemptedAgainst = candidates.targets;
  if (result.outcome === 'verified' && result.patientId !== undefined) {
    return { verified: true, patientId: result.patientId, freshness: result.freshness, attemptedAgainst };
  }
  return { verified: false, freshness: result.freshness, attemptedAgainst };
}

async function giveBack(deps: VerifyDeps, key: string): Promise<void> {
  await withDeadline(deps.attemptLimiter.release(key), SHORTCUT_DEADLINE_MS, 'the attempt limiter').catch(
    (error: unknown) => {
      deps.logger.warn({ err: error }, 'verification attempt not given back');
    },
  );
}

/**
 * The claim against every candidate: every factor of every one is compared (no early return), and
 * exactly one full match verifies.
 */
function judge(candidates: Candidates, claim: IdentityClaim): Decision {
  const factors = candidates.models.map((model) => ({ model, ...matchFactors(model, claim) }));
  const matches = factors.filter((f) => f.birthDate && f.identity);
  const [only] = matches;
  const { freshness } = candidates;
  if (candidates.incomplete) return { outcome: 'too-many-candidates', patientId: undefined, freshness };
  if (matches.length === 1 && only !== undefined) {
    return { outcome: 'verified', patientId: only.model.id, freshness };
  }
  return { outcome: matches.length === 0 ? 'no-match' : 'ambiguous', patientId: undefined, freshness };
}

const fromEhr = (deps: VerifyDeps): Freshness => ({ source: 'ehr', asOf: deps.clock.now().toISOString() });

async function gather(
  deps: VerifyDeps,
  connection: ConnectionContext,
  request: VerifyRequest,
): Promise<Candidates> {
  if (!(await connection.ehrAvailable())) {
    return fromCache(
      deps,
      connection,
      request,
      connection.ehrOutage?.() ??
        new ContinuumError('EHR_UNAVAILABLE', {
          detail: `EHR ${connection.name} is unavailable (circuit breaker open)`,
          retryAfterSeconds: 5,
        }),
    );
  }
  try {
    const candidates =
      request.patientId !== undefined
        ? await namedCandidate(deps, connection, request.patientId)
        : await searchCandidates(deps, connection, request);
    await connection.ehrAnswered();
    return candidates;
  } catch (error) {
    if (!isEhrUnavailable(error)) throw error;
    await connection.ehrFailed(error);
    return fromCache(deps, connection, request, error);
  }
}

/** The agent named the patient: read that one and nobody else. */
async function namedCandidate(
  deps: VerifyDeps,
  connection: ConnectionContext,
  patientId: string,
): Promise<Candidates> {
  const model = await readModel(connection, patientId);
  if (model !== undefined) await rememberPatient(deps, connection, model, { cache: true });
  return {
    models: model === undefined ? [] : [model],
    targets: [patientId],
    incomplete: false,
    freshness: fromEhr(deps),
  };
}

async function readModel(
  connection: ConnectionContext,
  patientId: string,
): Promise<PatientModel | undefined> {
  try {
    const resource = await connection.ehr.read<Patient>('Patient', patientId, {
      deadlineMs: connection.readDeadline('verify'),
    });
    return connection.mapping.readPatient(resource);
  } catch (error) {
    if (error instanceof ContinuumError && error.code === 'NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * Candidates found by every factor but the birth date, kept when every one of those matches: the
 * patients the caller claims to be, whether or not the birth date is right.
 */
async function searchCandidates(
  deps: VerifyDeps,
  connection: ConnectionContext,
  claim: IdentityClaim,
): Promise<Candidates> {
  const searches = candidateSearches(
    claim,
    (e164) => connection.phoneSearchValue(e164),
    connection.capabilities.phoneSearch,
  );
  const seen = new Set<string>();
  const byId = new Map<string, PatientModel>();
  let incomplete = false;
  for (const params of searches) {
    const found = await connection.ehr.search<Patient>('Patient', params, {
      deadlineMs: connection.readDeadline('verify'),
    });
    // More candidates than one page: a unique match on it could still have a twin on the next.
    incomplete = found.length >= SEARCH_LIMIT;
    for (const resource of found) {
      const model = connection.mapping.readPatient(resource);
      seen.add(model.id);
      if (matchFactors(model, claim).identity) byId.set(model.id, model);
    }
    if (byId.size > 0) break;
  }
  if (claim.phone !== undefined && claim.mrn === undefined) {
    // The index knows patients whose stored format no search variant covers; confirm each by a read.
    const indexed = await withDeadline(
      deps.phoneIndex.find(connection.name, claim.phone),
      SHORTCUT_DEADLINE_MS,
      'the phone index',
    ).catch(() => [] as readonly string[]);
    const missing = indexed.filter((id) => !seen.has(id)).slice(0, MAX_INDEXED_READS);
    const read = await Promise.all(missing.map((id) => readModel(connection, id)));
    for (const model of read) {
      if (model !== undefined && matchFactors(model, claim).identity) byId.set(model.id, model);
    }
  }
  const models = [...byId.values()];
  // Refreshed whatever the birth date said: the work must not depend on it.
  await Promise.all(
    models.slice(0, MAX_REMEMBERED).map((model) => rememberPatient(deps, connection, model, { cache: true })),
  );
  return { models, targets: models.map((m) => m.id), incomplete, freshness: fromEhr(deps) };
}

/**
 * The EHR cannot answer. A candidate read before is checked against its cached record (never
 * against queued corrections: those are not the EHR's yet); without one, the outage is the answer.
 */
async function fromCache(
  deps: VerifyDeps,
  connection: ConnectionContext,
  request: VerifyRequest,
  cause: ContinuumError,
): Promise<Candidates> {
  if (request.patientId === undefined) throw cause;
  const cached = await withDeadline(
    deps.readCache.get<PatientModel>(connection.name, patientCacheKey(request.patientId)),
    SHORTCUT_DEADLINE_MS,
    'the read cache',
  ).catch(() => undefined);
  deps.metrics?.cacheRead(connection.name, cached === undefined ? 'miss' : 'hit');
  if (cached === undefined) throw cause;
  deps.metrics?.cacheFallback(connection.name, 'unavailable');
  return {
    models: cached.value.id === request.patientId ? [cached.value] : [],
    targets: [request.patientId],
    incomplete: false,
    freshness: { source: 'cache', asOf: cached.asOf },
  };
}
