/**
 * Demographics for one patient, in the call-center model. Each answer from the EHR refreshes the
 * continuity cache and the phone index (so a number seen once is found again even on an EHR that
 * cannot search by phone); when the EHR cannot answer, the cached answer is served, marked so.
 * Either way the patient's queued corrections are overlaid, marked pending.
 */
import { createHash } from 'node:crypto';
import type { Patient } from '../domain/fhir';
import type { Operation } from '../domain/operation';
import type { Freshness } from '../domain/freshness';
import type { PatientModel } from '../domain/patient';
import { withDeadline } from '../domain/with-deadline';
import { readWithContinuity } from './continuity-read';
import { overlayPatientWrites, type PendingWrite } from './pending-writes';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface PatientView extends PatientModel {
  readonly freshness: Freshness;
  readonly pending: readonly PendingWrite[];
}

export type PatientReadDeps = Pick<
  UseCaseDeps,
  'phoneIndex' | 'readCache' | 'store' | 'clock' | 'logger' | 'metrics'
>;

export function patientCacheKey(patientId: string): string {
  return `patient:${patientId}`;
}

/** A patient the EHR just answered with: remembered as confirmed, indexed by phone, cached. */
export async function rememberPatient(
  deps: Pick<UseCaseDeps, 'phoneIndex' | 'readCache' | 'clock' | 'logger'>,
  connection: ConnectionContext,
  model: PatientModel,
  options: { readonly cache: boolean },
): Promise<void> {
  // A screen pop repeats the same answer many times a minute for a busy number: while nothing
  // changed since the last refresh (within the confirmation TTL), the index and cache already hold it.
  const fingerprint = createHash('sha1').update(JSON.stringify(model)).digest('base64');
  if (connection.confirmedPatients.sameAs(model.id, fingerprint)) return;
  connection.confirmedPatients.remember(model.id, fingerprint);
  const work = [deps.phoneIndex.replace(connection.name, model.id, model.phones)];
  if (options.cache) {
    work.push(deps.readCache.put(connection.name, patientCacheKey(model.id), model, deps.clock.now()));
  }
  // Both are for the next read; a slow Redis must not hold this one.
  await withDeadline(Promise.all(work), 250, 'the phone index and cache').catch((error: unknown) => {
    // Not refreshed: the next answer must try again rather than count as already stored.
    connection.confirmedPatients.remember(model.id);
    deps.logger.warn({ err: error, connection: connection.name }, 'phone index or cache not refreshed');
  });
}

export async function readPatient(
  deps: PatientReadDeps,
  connection: ConnectionContext,
  patientId: string,
  /** The patient's queued writes the reader may see (`pendingPatientWrites`); a summary reads them once. */
  queued: Promise<readonly Operation[]>,
): Promise<PatientView> {
  const [read, operations] = await Promise.all([
    readWithContinuity(deps, connection, patientCacheKey(patientId), async () => {
      const resource = await connection.ehr.read<Patient>('Patient', patientId, {
        deadlineMs: connection.readDeadline('patient'),
      });
      const model = connection.mapping.readPatient(resource);
      // The continuity read caches the model itself.
      await rememberPatient(deps, connection, model, { cache: false });
      return model;
    }),
    queued,
  ]);
  const { patient, pending } = overlayPatientWrites(read.value, operations);
  return { ...patient, freshness: read.freshness, pending };
}
