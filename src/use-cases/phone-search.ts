/**
 * The EHR searched by caller number. FHIR servers match `Patient?phone=` against the stored text
 * exactly, so every format the number may be stored in is asked for: as one query or as one query
 * per format sent at once, whichever this connection's way says, merged by id. Only patients whose
 * number is the caller's in E.164 are kept: a loose search also returns near-matches.
 */
import type { Patient } from '../domain/fhir';
import type { PhoneSearchPurpose } from '../domain/metrics';
import type { PatientModel } from '../domain/patient';
import type { ConnectionContext, UseCaseDeps } from './use-case-deps';

/** A family line can be shared; past this many matches the agent must verify identity anyway. */
export const MAX_LOOKUP_MATCHES = 20;

export async function searchPatientsByPhone(
  deps: Pick<UseCaseDeps, 'metrics'>,
  connection: ConnectionContext,
  e164: string,
  purpose: PhoneSearchPurpose,
): Promise<PatientModel[]> {
  const values = connection.phoneSearchValues(e164);
  if (values.length === 0) return [];
  const query = values.length > 1 ? connection.phoneSearchWay.next() : 'combined';
  const search = (value: string): Promise<readonly Patient[]> =>
    connection.ehr.search<Patient>(
      'Patient',
      { phone: value, _count: String(MAX_LOOKUP_MATCHES) },
      { deadlineMs: connection.readDeadline('lookup') },
    );
  deps.metrics?.phoneSearch(connection.name, query, purpose);
  const started = performance.now();
  // One failed search fails the whole, as the one combined query would: a partial answer could
  // miss the very patient calling.
  const found =
    query === 'combined'
      ? await search(connection.phoneSearchValue(e164))
      : (await Promise.all(values.map(search))).flat();
  if (values.length > 1) connection.phoneSearchWay.record(query, performance.now() - started);
  connection.recentPhoneSearches.note(e164);
  const byId = new Map<string, PatientModel>();
  for (const resource of found) {
    const model = connection.mapping.readPatient(resource);
    if (model.phones.includes(e164)) byId.set(model.id, model);
  }
  return [...byId.values()];
}
