/**
 * Every call to an EHR, timed and told to an observer with its interaction and its outcome in
 * the error taxonomy the FHIR client already normalised to, so that no EHR text and no resource id
 * reaches what observes it. Wraps the watched client, so it sees what use cases see.
 */
import { ContinuumError } from '../../src/domain/errors';
import type { Resource } from '../../src/domain/fhir';
import type { EhrCallOutcome, EhrInteraction } from '../../src/domain/metrics';
import type { EhrClient, JsonPatchOperation, RequestOptions, SearchParams } from '../../src/domain/ports';

export function ehrCallOutcome(error: unknown): EhrCallOutcome {
  if (!(error instanceof ContinuumError)) return 'error';
  switch (error.code) {
    case 'NOT_FOUND':
      return 'not-found';
    case 'CONFLICT':
      return 'conflict';
    case 'EHR_REJECTED':
    case 'VALIDATION':
      return 'rejected';
    case 'EHR_THROTTLED':
      return 'throttled';
    case 'EHR_CREDENTIALS_REJECTED':
      return 'credentials-rejected';
    case 'EHR_UNAVAILABLE':
      return error.extra?.timeout === true ? 'timeout' : 'unavailable';
    default:
      return 'error';
  }
}

/** One finished call: `error` is what it threw, when it did. */
export type EhrCallObserver = (
  interaction: EhrInteraction,
  outcome: EhrCallOutcome,
  seconds: number,
  error: unknown,
) => void;

export function observeEhrCalls(ehr: EhrClient, observe: EhrCallObserver): EhrClient {
  const timed = async <T>(interaction: EhrInteraction, call: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      const result = await call();
      observe(interaction, 'ok', (performance.now() - started) / 1000, undefined);
      return result;
    } catch (error) {
      observe(interaction, ehrCallOutcome(error), (performance.now() - started) / 1000, error);
      throw error;
    }
  };

  return {
    connection: ehr.connection,
    read<T extends Resource>(resourceType: T['resourceType'], id: string, options?: RequestOptions) {
      return timed('read', () => ehr.read<T>(resourceType, id, options));
    },
    readVersion<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      version: string,
      options?: RequestOptions,
    ) {
      return timed('vread', () => ehr.readVersion<T>(resourceType, id, version, options));
    },
    search<T extends Resource>(
      resourceType: T['resourceType'],
      params: SearchParams,
      options?: RequestOptions,
    ) {
      return timed('search', () => ehr.search<T>(resourceType, params, options));
    },
    searchPages<T extends Resource>(
      resourceType: T['resourceType'],
      params: SearchParams,
      options?: RequestOptions & { readonly maxPages?: number },
    ) {
      return timed('search-pages', () => ehr.searchPages<T>(resourceType, params, options));
    },
    create<T extends Resource>(resource: T, options?: RequestOptions & { readonly ifNoneExist?: string }) {
      return timed('create', () => ehr.create<T>(resource, options));
    },
    update<T extends Resource>(resource: T, options?: RequestOptions & { readonly ifMatchVersion?: string }) {
      return timed('update', () => ehr.update<T>(resource, options));
    },
    patch<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      operations: readonly JsonPatchOperation[],
      options?: RequestOptions & { readonly ifMatchVersion?: string },
    ) {
      return timed('patch', () => ehr.patch<T>(resourceType, id, operations, options));
    },
    capabilities(options?: RequestOptions) {
      return timed('capabilities', () => ehr.capabilities(options));
    },
  };
}
