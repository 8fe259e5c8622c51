/**
 * An EHR client that notices a refusal of the connection's credentials on any call (a read, a write,
 * a probe, a notification's fetch) and puts the connection in the shared `credentials-rejected`
 * state, so no use case has to remember to. The error itself passes through unchanged.
 */
import type { ConnectionCredentials } from '../domain/connection-credentials';
import { ContinuumError } from '../domain/errors';
import type { Resource } from '../domain/fhir';
import type { EhrClient, JsonPatchOperation, Logger, RequestOptions, SearchParams } from '../domain/ports';
import { withDeadline } from '../domain/with-deadline';

/** Recording the state must not hold the caller long when Redis is slow: the next refusal records it. */
const RECORD_DEADLINE_MS = 250;

export function watchCredentials(
  ehr: EhrClient,
  credentials: ConnectionCredentials,
  logger: Logger,
): EhrClient {
  const noted = async (error: unknown): Promise<never> => {
    if (error instanceof ContinuumError && error.code === 'EHR_CREDENTIALS_REJECTED') {
      const status = error.extra?.ehrStatus;
      await withDeadline(
        credentials.recordRejected(typeof status === 'number' ? status : undefined),
        RECORD_DEADLINE_MS,
        'the credentials state',
      ).catch((recordError: unknown) => {
        logger.warn(
          { err: recordError, connection: ehr.connection },
          'credentials refusal not recorded; the next one will be',
        );
      });
    }
    throw error;
  };
  const watched = <T>(call: Promise<T>): Promise<T> => call.catch(noted);

  return {
    connection: ehr.connection,
    read<T extends Resource>(resourceType: T['resourceType'], id: string, options?: RequestOptions) {
      return watched(ehr.read<T>(resourceType, id, options));
    },
    readVersion<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      version: string,
      options?: RequestOptions,
    ) {
      return watched(ehr.readVersion<T>(resourceType, id, version, options));
    },
    search<T extends Resource>(
      resourceType: T['resourceType'],
      params: SearchParams,
      options?: RequestOptions,
    ) {
      return watched(ehr.search<T>(resourceType, params, options));
    },
    searchPages<T extends Resource>(
      resourceType: T['resourceType'],
      params: SearchParams,
      options?: RequestOptions & { readonly maxPages?: number },
    ) {
      return watched(ehr.searchPages<T>(resourceType, params, options));
    },
    create<T extends Resource>(resource: T, options?: RequestOptions & { readonly ifNoneExist?: string }) {
      return watched(ehr.create<T>(resource, options));
    },
    update<T extends Resource>(resource: T, options?: RequestOptions & { readonly ifMatchVersion?: string }) {
      return watched(ehr.update<T>(resource, options));
    },
    patch<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      operations: readonly JsonPatchOperation[],
      options?: RequestOptions & { readonly ifMatchVersion?: string },
    ) {
      return watched(ehr.patch<T>(resourceType, id, operations, options));
    },
    capabilities(options?: RequestOptions) {
      return watched(ehr.capabilities(options));
    },
  };
}

/**
 * The probe of a connection whose credentials were refused: the cheapest read that needs them.
 * `/metadata` would prove nothing, as real servers answer it without a token.
 */
export function credentialsProbe(ehr: EhrClient, deadlineMs: number): () => Promise<unknown> {
  return () => ehr.search('Patient', { _count: '1', _elements: 'id' }, { deadlineMs });
}
