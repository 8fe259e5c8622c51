/**
 * A registration is conditional on the MRN: the same caller registered twice (two agents, two
 * calls, two Idempotency-Keys) is one patient in the EHR. Where the EHR honours If-None-Exist the
 * create carries `identifier=<system>|<value>` (no match: created; one: that patient is returned;
 * several: 412); elsewhere the EHR is searched by the MRN first, which is safe for the same reason
 * as createOnce: a registration is alone in its lane.
 */
import { ContinuumError } from '../domain/errors';
import { NeedsReviewError } from '../domain/failure-policy';
import type { Patient } from '../domain/fhir';
import { OPERATION_IDENTIFIER_SYSTEM } from '../domain/operation';
import { escapeFhirSearchValue } from '../phone';
import type { ConnectionContext } from './use-case-deps';

export interface MrnIdentifier {
  readonly system: string;
  readonly value: string;
}

/**
 * The MRN as the profile's create template wrote it: the identifier holding the caller's MRN in one
 * of the profile's MRN systems, else in any system. None (no MRN given, or written without a system,
 * which no search could tell apart from other identifiers) means no MRN condition.
 */
export function writtenMrn(
  patient: Patient,
  mrn: string | undefined,
  mrnSystems: readonly string[],
): MrnIdentifier | undefined {
  if (mrn === undefined) return undefined;
  const holding = (patient.identifier ?? []).flatMap((identifier) =>
    identifier.value === mrn && identifier.system !== undefined && identifier.system !== ''
      ? [{ system: identifier.system, value: mrn }]
      : [],
  );
  return holding.find((identifier) => mrnSystems.includes(identifier.system)) ?? holding[0];
}

/**
 * Creates `patient` (marked with the operation id) unless the EHR already holds a patient with the
 * MRN; several such patients stop the registration for an operator, naming them (references only).
 */
export async function createUnlessMrnHeld(
  connection: ConnectionContext,
  operationId: string,
  patient: Patient,
  mrn: MrnIdentifier,
): Promise<{ readonly resource: Patient; readonly created: boolean }> {
  const token = `${escapeFhirSearchValue(mrn.system)}|${escapeFhirSearchValue(mrn.value)}`;
  const marked: Patient = {
    ...patient,
    identifier: [...(patient.identifier ?? []), { system: OPERATION_IDENTIFIER_SYSTEM, value: operationId }],
  };
  const deadline = { deadlineMs: connection.writeTimeoutMs };
  const holders = (): Promise<readonly Patient[]> =>
    connection.ehr.search<Patient>('Patient', { identifier: token }, deadline);

  if (connection.capabilities.conditionalCreate) {
    try {
      return await connection.ehr.create(marked, { ...deadline, ifNoneExist: `identifier=${token}` });
    } catch (error) {
      if (error instanceof ContinuumError && error.code === 'CONFLICT' && error.extra?.ehrStatus === 412) {
        throw severalHolders(await holders());
      }
      throw error;
    }
  }
  const held = await holders();
  if (held.length > 1) throw severalHolders(held);
  const [existing] = held;
  if (existing !== undefined) return { resource: existing, created: false };
  return connection.ehr.create(marked, deadline);
}

function severalHolders(held: readonly Patient[]): NeedsReviewError {
  return new NeedsReviewError({
    reason:
      'the EHR holds several patients with this MRN, so none was created: an operator must decide which one is the caller (or merge them)',
    fields: [
      {
        element: 'identifier',
        base: null,
        current: held.map((patient) => `Patient/${patient.id ?? ''}`),
        requested: null,
      },
    ],
  });
}
