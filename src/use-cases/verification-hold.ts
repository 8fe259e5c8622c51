/**
 * The per-patient hold on phone self-verification. Failed verifications count per patient across
 * every caller and client; past the limit, attempts against that patient answer 429 with
 * `hold: 'patient'` before anything the caller said is evaluated, and call-center subscribers hear
 * `patient.verification-held`. An agent desk (a client that may correct records,
 * `patients:write`) verifying the patient on its screen (`patientId`) is not held, but its
 * failures count like any other.
 */
import type { CallCenterEvent } from '../domain/events';
import { ContinuumError } from '../domain/errors';
import { withDeadline } from '../domain/with-deadline';
import { publishEvents } from './call-center-events';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export type HoldDeps = Pick<
  UseCaseDeps,
  'patientHold' | 'attemptLimiter' | 'events' | 'clock' | 'logger' | 'enqueueTimeoutMs'
>;

/** Settling is bookkeeping after the answer is known: a slow Redis must not hold the answer. */
const SETTLE_DEADLINE_MS = 250;

/** A patient as the hold counts it: per EHR connection, stored by the adapter only as a keyed hash. */
export function patientHoldKey(connection: string, patientId: string): string {
  return `${connection}\n${patientId}`;
}

/** The refusal of an attempt against a held patient: PHI-free, and distinct from the caller limit. */
export function patientHeld(retryAfterSeconds: number): ContinuumError {
  return new ContinuumError('TOO_MANY_ATTEMPTS', {
    detail:
      'identity verification by phone is on hold for this patient after repeated failed attempts; ' +
      'an agent can still help',
    retryAfterSeconds,
    extra: { hold: 'patient' },
  });
}

export function isPatientHeld(error: unknown): boolean {
  return (
    error instanceof ContinuumError && error.code === 'TOO_MANY_ATTEMPTS' && error.extra?.hold === 'patient'
  );
}

/**
 * Takes the attempt against these patients, before anything the caller said is evaluated; refused
 * when one of them is held, unless the attempt is only counted (`enforce` false: an agent desk).
 * Fails closed: a hold that cannot be checked could be in force.
 */
export async function reserveAgainst(
  deps: HoldDeps,
  connection: ConnectionContext,
  patientIds: readonly string[],
  enforce: boolean,
): Promise<void> {
  if (patientIds.length === 0) return;
  const state = await withDeadline(
    deps.patientHold.reserve(
      patientIds.map((id) => patientHoldKey(connection.name, id)),
      enforce,
    ),
    deps.enqueueTimeoutMs,
    'the patient hold',
  );
  if (state.held) throw patientHeld(state.retryAfterSeconds);
}

/** A reserved attempt that got no answer: nothing was guessed, so it does not count. */
export async function giveBackAgainst(
  deps: HoldDeps,
  connection: ConnectionContext,
  patientIds: readonly string[],
): Promise<void> {
  if (patientIds.length === 0) return;
  const keys = patientIds.map((id) => patientHoldKey(connection.name, id));
  await withDeadline(deps.patientHold.settle(keys, false), SETTLE_DEADLINE_MS, 'the patient hold').catch(
    (error: unknown) => {
      deps.logger.warn({ err: error, connection: connection.name }, 'patient attempt not given back');
    },
  );
}

export function verificationHeldEvent(
  connection: string,
  patientId: string,
  heldUntil: Date,
  at: Date,
): CallCenterEvent {
  const until = heldUntil.toISOString();
  return {
    id: `${connection}.Patient/${patientId}.patient.verification-held.${until}`,
    type: 'patient.verification-held',
    timestamp: at.toISOString(),
    data: { connection, patientId, heldUntil: until },
  };
}

/**
 * Books an answered attempt: the caller's attempt is kept (failed) or given back, and the patients
 * it was against count the failure. Both run whether the answer was right or wrong, so the time
 * an answer takes tells nothing. A hold this starts is logged and published.
 */
export async function settleAttempt(
  deps: HoldDeps,
  connection: ConnectionContext,
  callerKey: string,
  patientIds: readonly string[],
  failed: boolean,
): Promise<void> {
  const keys = patientIds.map((id) => patientHoldKey(connection.name, id));
  const [, started] = await Promise.all([
    withDeadline(
      deps.attemptLimiter.settle(callerKey, failed),
      SETTLE_DEADLINE_MS,
      'the attempt limiter',
    ).catch((error: unknown) => {
      deps.logger.warn({ err: error }, 'verification attempt not settled');
    }),
    keys.length === 0
      ? Promise.resolve([])
      : withDeadline(deps.patientHold.settle(keys, failed), SETTLE_DEADLINE_MS, 'the patient hold').catch(
          (error: unknown) => {
            deps.logger.warn({ err: error, connection: connection.name }, 'patient failures not counted');
            return [];
          },
        ),
  ]);
  if (started.length === 0) return;
  const now = deps.clock.now();
  const events = started.flatMap(({ patientKey, heldForMs }) => {
    const patientId = patientIds[keys.indexOf(patientKey)];
    if (patientId === undefined) return [];
    const heldUntil = new Date(now.getTime() + heldForMs);
    deps.logger.warn(
      { connection: connection.name, patientId, heldUntil: heldUntil.toISOString() },
      'identity verification by phone held for a patient: too many failed attempts',
    );
    return [verificationHeldEvent(connection.name, patientId, heldUntil, now)];
  });
  await publishEvents(deps, events);
}
