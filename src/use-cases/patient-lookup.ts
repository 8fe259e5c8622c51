/**
 * Screen pop by caller number. EHRs match `Patient?phone=` against the stored text exactly and
 * some cannot search by phone at all, so the lookup asks for every format the number may have
 * been stored in, keeps only true E.164 matches, and adds what Continuum's own phone index knows.
 */
import { ContinuumError, validationError } from '../domain/errors';
import type { Patient } from '../domain/fhir';
import type { PatientModel } from '../domain/patient';
import { fhirSearchAlternatives, normalizePhone, phoneSearchVariants } from '../phone';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

export interface LookupResult {
  readonly found: boolean;
  readonly phone: string;
  readonly matches: readonly PatientModel[];
  /** Present when the EHR could not be asked and the answer comes from Continuum's own index. */
  readonly freshness?: { readonly source: 'index'; readonly asOf: string };
  readonly matchIds?: readonly string[];
}

/** A family line can be shared; past this many matches the agent must verify identity anyway. */
const MAX_MATCHES = 20;

export async function lookupPatientsByPhone(
  deps: Pick<UseCaseDeps, 'phoneIndex' | 'defaultRegion' | 'clock' | 'logger'>,
  connection: ConnectionContext,
  rawPhone: string | undefined,
): Promise<LookupResult> {
  if (rawPhone === undefined || rawPhone.trim() === '') {
    throw validationError([{ field: 'phone', message: 'is required' }]);
  }
  const e164 = normalizePhone(rawPhone, deps.defaultRegion);
  if (e164 === undefined) throw validationError([{ field: 'phone', message: 'is not a valid phone number' }]);

  const indexed = await deps.phoneIndex.find(connection.name, e164);
  let searched: readonly Patient[];
  try {
    searched = await connection.ehr.search<Patient>(
      'Patient',
      {
        phone: fhirSearchAlternatives(phoneSearchVariants(e164, deps.defaultRegion)),
        _count: String(MAX_MATCHES),
      },
      { deadlineMs: connection.readDeadlineMs },
    );
  } catch (error) {
    if (error instanceof ContinuumError && error.code === 'EHR_UNAVAILABLE' && indexed.length > 0) {
      deps.logger.warn({ connection: connection.name, err: error }, 'lookup answered from the phone index');
      return {
        found: true,
        phone: e164,
        matches: [],
        matchIds: indexed,
        freshness: { source: 'index', asOf: deps.clock.now().toISOString() },
      };
    }
    throw error;
  }

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
          deadlineMs: connection.readDeadlineMs,
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
  for (const model of byId.values()) {
    connection.confirmedPatients.remember(model.id);
    await deps.phoneIndex.replace(connection.name, model.id, model.phones);
  }
  for (const id of stale) {
    const model = confirmed.find((m) => m?.id === id);
    await deps.phoneIndex.replace(connection.name, id, model?.phones ?? []);
  }

  const matches = [...byId.values()].sort((a, b) => a.id.localeCompare(b.id)).slice(0, MAX_MATCHES);
  return { found: matches.length > 0, phone: e164, matches };
}
