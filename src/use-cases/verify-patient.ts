/**
 * Identity verification of a caller: birth date plus family name, MRN or phone number (all that
 * are given must match). The EHR is asked for candidates and every candidate is confirmed on the
 * call-center model; exactly one confirmed patient verifies, none or several (a shared family line,
 * twins) do not. The answer never says which field failed, and failed attempts are limited per
 * caller. When the EHR cannot answer, a candidate the agent already has (`patientId`) is checked
 * against the continuity cache; without one there is nothing safe to check against.
 */
import { ContinuumError, isEhrUnavailable } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { Freshness } from '../domain/freshness';
import type { SearchParams } from '../domain/ports';
import type { PatientModel } from '../domain/patient';
import { withDeadline } from '../domain/with-deadline';
import { escapeFhirSearchValue, fhirSearchAlternatives, normalizePhone, type CountryCode } from '../phone';
import { patientCacheKey, rememberPatient } from './patient-read';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** What the caller says about themselves. Every field given must match the same patient. */
export interface IdentityClaim {
  /** YYYY-MM-DD. */
  readonly birthDate: string;
  readonly family?: string | undefined;
  readonly mrn?: string | undefined;
  /** E.164. */
  readonly phone?: string | undefined;
}

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
}

export type VerifyResult =
  | { readonly verified: true; readonly patientId: string; readonly freshness: Freshness }
  | { readonly verified: false; readonly freshness: Freshness };

export type VerifyDeps = Pick<
  UseCaseDeps,
  'attemptLimiter' | 'phoneIndex' | 'readCache' | 'clock' | 'logger' | 'enqueueTimeoutMs'
>;

/** Why an attempt failed: logged (never answered) so that support can tell a typo from a shared line. */
type Outcome = 'verified' | 'no-match' | 'ambiguous' | 'too-many-candidates';

interface Decision {
  readonly outcome: Outcome;
  readonly patientId: string | undefined;
  readonly freshness: Freshness;
}

/** Candidates asked of the EHR at most; a full page means uniqueness cannot be told. */
const SEARCH_LIMIT = 100;
/** Patients the phone index knows under a number, confirmed by reads at most. */
const MAX_INDEXED_READS = 20;
/** The index and the cache are shortcuts: a slow Redis must not hold a verification. */
const SHORTCUT_DEADLINE_MS = 250;

const FOLDED_LETTERS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  ł: 'l',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
};

/**
 * A family name as compared: lower case, accents and compatibility forms removed (NFKD), letters
 * without a decomposition spelled out (ß -> ss, ø -> o), and every space, hyphen, apostrophe or
 * period dropped, so "García-López", "garcia lopez" and "GARCIALOPEZ" compare equal, as do
 * "O'Brien" and "OBrien". Empty when the name has no letter or digit.
 */
export function foldName(name: string): string {
  return name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßæœøłđðþı]/gu, (letter) => FOLDED_LETTERS[letter] ?? letter)
    .replace(/[^\p{L}\p{N}]+/gu, '');
}

/** Whether the patient, as the EHR (or the cache) has it, is the one the caller claims to be. */
export function matchesClaim(model: PatientModel, claim: IdentityClaim): boolean {
  if (model.birthDate === undefined || model.birthDate !== claim.birthDate) return false;
  if (claim.family !== undefined) {
    const wanted = foldName(claim.family);
    const stored = model.name.family === undefined ? '' : foldName(model.name.family);
    if (wanted === '' || stored !== wanted) return false;
  }
  if (claim.mrn !== undefined && (model.mrn === undefined || model.mrn.trim() !== claim.mrn.trim())) {
    return false;
  }
  if (claim.phone !== undefined && !model.phones.includes(claim.phone)) return false;
  return true;
}

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

/**
 * The family-name search value: the name's first letter, as typed and without its accent. FHIR
 * string search matches the start of the stored name (ignoring case and accents) but not its
 * spaces, hyphens or apostrophes, so anything longer could miss "García-López" for "garcialopez",
 * or "O'Brien" for "OBrien", and with it a second patient who matches: uniqueness could no longer
 * be told. The birth date keeps the candidates few; the name is compared in full on each.
 */
function familySearchValue(family: string): string {
  const initial = /[\p{L}\p{N}]/u.exec(family.normalize('NFC'))?.[0] ?? family.trim();
  const plain = initial.normalize('NFKD').replace(/\p{M}/gu, '');
  return fhirSearchAlternatives([...new Set([initial, plain].filter((v) => v !== ''))]);
}

/**
 * One EHR search for candidates: birth date plus the most selective factor given (MRN, then phone
 * in every format it may be stored in, then the family name's initial). Every factor is then
 * confirmed on the model.
 */
export function candidateSearch(
  claim: IdentityClaim,
  phoneSearchValue: (e164: string) => string,
  phoneSearch = true,
): SearchParams {
  const base = { birthdate: claim.birthDate, _count: String(SEARCH_LIMIT) };
  if (claim.mrn !== undefined) return { ...base, identifier: escapeFhirSearchValue(claim.mrn) };
  // An EHR that cannot search by phone is searched by birth date (and name, if given); the phone
  // index then adds the patients it knows under the number.
  if (claim.phone !== undefined && !phoneSearch) {
    return claim.family !== undefined ? { ...base, family: familySearchValue(claim.family) } : base;
  }
  if (claim.phone !== undefined) {
    return { ...base, phone: phoneSearchValue(claim.phone) };
  }
  if (claim.family !== undefined) return { ...base, family: familySearchValue(claim.family) };
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
    deps.logger.info(
      { ...log, outcome: 'refused', patientId: request.patientId },
      'identity verification refused: too many failed attempts',
    );
    throw new ContinuumError('TOO_MANY_ATTEMPTS', {
      detail: 'too many failed verification attempts from this caller; try again later',
      retryAfterSeconds: decision.retryAfterSeconds,
    });
  }

  let result: Decision;
  try {
    result = await decide(deps, connection, request);
  } catch (error) {
    // No answer was given, so nothing was guessed: the attempt does not count.
    await giveBack(deps, key);
    deps.logger.info(
      { ...log, outcome: 'error', patientId: request.patientId, err: error },
      'identity verification not answered',
    );
    throw error;
  }
  if (result.outcome === 'verified') await giveBack(deps, key);
  deps.logger.info(
    { ...log, outcome: result.outcome, patientId: result.patientId, source: result.freshness.source },
    'identity verification',
  );
  if (result.outcome === 'verified' && result.patientId !== undefined) {
    return { verified: true, patientId: result.patientId, freshness: result.freshness };
  }
  return { verified: false, freshness: result.freshness };
}

async function giveBack(deps: VerifyDeps, key: string): Promise<void> {
  await withDeadline(deps.attemptLimiter.release(key), SHORTCUT_DEADLINE_MS, 'the attempt limiter').catch(
    (error: unknown) => {
      deps.logger.warn({ err: error }, 'verification attempt not given back');
    },
  );
}

async function decide(
  deps: VerifyDeps,
  connection: ConnectionContext,
  request: VerifyRequest,
): Promise<Decision> {
  if (!(await connection.ehrAvailable())) {
    return fromCache(
      deps,
      connection,
      request,
      new ContinuumError('EHR_UNAVAILABLE', {
        detail: `EHR ${connection.name} is unavailable (circuit breaker open)`,
        retryAfterSeconds: 5,
      }),
    );
  }
  try {
    const outcome =
      request.patientId !== undefined
        ? await checkCandidate(deps, connection, request, request.patientId)
        : await searchCandidates(deps, connection, request);
    await connection.ehrAnswered();
    return outcome;
  } catch (error) {
    if (!isEhrUnavailable(error)) throw error;
    await connection.ehrFailed();
    return fromCache(deps, connection, request, error);
  }
}

function decided(deps: VerifyDeps, matches: readonly PatientModel[]): Decision {
  const freshness: Freshness = { source: 'ehr', asOf: deps.clock.now().toISOString() };
  const [only] = matches;
  if (matches.length === 1 && only !== undefined) {
    return { outcome: 'verified', patientId: only.id, freshness };
  }
  return { outcome: matches.length === 0 ? 'no-match' : 'ambiguous', patientId: undefined, freshness };
}

/** The agent named the patient: read that one and nobody else. */
async function checkCandidate(
  deps: VerifyDeps,
  connection: ConnectionContext,
  claim: IdentityClaim,
  patientId: string,
): Promise<Decision> {
  const model = await readModel(connection, patientId);
  if (model === undefined) return { ...decided(deps, []), patientId };
  await rememberPatient(deps, connection, model, { cache: true });
  const decision = decided(deps, matchesClaim(model, claim) ? [model] : []);
  return { ...decision, patientId };
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

async function searchCandidates(
  deps: VerifyDeps,
  connection: ConnectionContext,
  claim: IdentityClaim,
): Promise<Decision> {
  const params = candidateSearch(
    claim,
    (e164) => connection.phoneSearchValue(e164),
    connection.capabilities.phoneSearch,
  );
  const found = await connection.ehr.search<Patient>('Patient', params, {
    deadlineMs: connection.readDeadline('verify'),
    maxPages: 1,
  });
  if (found.length >= SEARCH_LIMIT) {
    // More candidates than one page: a unique match on it could still have a twin on the next.
    return { ...decided(deps, []), outcome: 'too-many-candidates' };
  }
  const byId = new Map<string, PatientModel>();
  for (const resource of found) {
    const model = connection.mapping.readPatient(resource);
    if (matchesClaim(model, claim)) byId.set(model.id, model);
  }
  if (claim.phone !== undefined && params.identifier === undefined) {
    // The index knows patients whose stored format no search variant covers; confirm each by a read.
    const indexed = await withDeadline(
      deps.phoneIndex.find(connection.name, claim.phone),
      SHORTCUT_DEADLINE_MS,
      'the phone index',
    ).catch(() => [] as readonly string[]);
    const missing = indexed.filter((id) => !byId.has(id)).slice(0, MAX_INDEXED_READS);
    const read = await Promise.all(missing.map((id) => readModel(connection, id)));
    for (const model of read) {
      if (model !== undefined && matchesClaim(model, claim)) byId.set(model.id, model);
    }
  }
  const matches = [...byId.values()];
  const [only] = matches;
  if (matches.length === 1 && only !== undefined) {
    await rememberPatient(deps, connection, only, { cache: true });
  }
  return decided(deps, matches);
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
): Promise<Decision> {
  if (request.patientId === undefined) throw cause;
  const cached = await withDeadline(
    deps.readCache.get<PatientModel>(connection.name, patientCacheKey(request.patientId)),
    SHORTCUT_DEADLINE_MS,
    'the read cache',
  ).catch(() => undefined);
  if (cached === undefined) throw cause;
  const freshness: Freshness = { source: 'cache', asOf: cached.asOf };
  const verified = cached.value.id === request.patientId && matchesClaim(cached.value, request);
  return { outcome: verified ? 'verified' : 'no-match', patientId: request.patientId, freshness };
}
