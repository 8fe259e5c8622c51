/**
 * The generic FHIR R4 adapter, on fhir-kit-client 1.9 (its CommonJS line: 2.x is ES-module only,
 * which Jest's CommonJS runtime cannot load without experimental VM modules; the errors of both
 * are normalised by shape, so moving to 2.x later changes nothing above this file).
 * Every call has a deadline; every failure leaves as a ContinuumError.
 */
import Client from 'fhir-kit-client';
import type { Bundle, CapabilityStatement, Resource } from '../../../src/domain/fhir';
import type {
  EhrClient,
  JsonPatchOperation,
  Logger,
  RequestOptions,
  SearchParams,
} from '../../../src/domain/ports';
import { ContinuumError } from '../../../src/domain/errors';
import type { EhrTokenProvider } from '../../../src/domain/ehr-sign-in';
import type { SearchResult, SearchTruncation } from '../../../src/domain/search-result';
import { normalizeEhrError } from './ehr-error-normalizer';
import { nextPageDecision } from './next-page-link';
import { withEhrToken, type EhrAttempt } from './with-ehr-token';

export type EhrAuth =
  | { readonly type: 'none' }
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string }
  /** OAuth 2.0 (client credentials, SMART Backend Services): a token obtained, shared and renewed elsewhere. */
  | { readonly type: 'oauth'; readonly tokens: EhrTokenProvider };

export interface FhirR4ClientOptions {
  readonly connection: string;
  readonly baseUrl: string;
  readonly auth: EhrAuth;
  /** Used when a call gives no deadline of its own. */
  readonly defaultDeadlineMs: number;
  /** Origins besides the base URL's that a search's `next` links may be followed to. */
  readonly allowedPageOrigins?: readonly string[];
  /** Told when a search stops before its last page. */
  readonly logger?: Logger;
}

interface FetchResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
}

/** fhir-kit-client hangs the fetch Response on a non-enumerable `__response` property. */
function responseOf(data: unknown): FetchResponseLike | undefined {
  if (data === null || typeof data !== 'object') return undefined;
  const descriptor = Object.getOwnPropertyDescriptor(data, '__response');
  return descriptor?.value as FetchResponseLike | undefined;
}

function versionFromEtag(etag: string | null | undefined): string | undefined {
  if (!etag) return undefined;
  const match = /^(?:W\/)?"([^"]+)"$/.exec(etag.trim());
  return match?.[1];
}

/** An update's answer may carry its new version only in the ETag: put it where callers look. */
function withEtagVersion<T extends Resource>(data: T): T {
  const version = versionFromEtag(responseOf(data)?.headers.get('etag'));
  if (version !== undefined && data.meta?.versionId === undefined) {
    return { ...data, meta: { ...data.meta, versionId: version } };
  }
  return data;
}

function ifMatchHeader(version: string | undefined): Record<string, string> | undefined {
  return version !== undefined ? { 'if-match': `W/"${version}"` } : undefined;
}

/**
 * An id or version as one URL path segment. fhir-kit-client pastes them into the path as given,
 * so an id holding `/`, `?` or `#` would name another resource or query; `.` and `..` cannot be
 * escaped at all (URL parsers resolve `%2e` too) and are refused.
 */
function segment(value: string): string {
  if (value === '' || value === '.' || value === '..') {
    throw new ContinuumError('VALIDATION', { detail: 'not a usable FHIR id' });
  }
  return encodeURIComponent(value);
}

function toQuery(params: SearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(params)) {
    out[key] = typeof value === 'string' ? value : [...value];
  }
  return out;
}

export function createFhirR4Client(options: FhirR4ClientOptions): EhrClient & { readonly baseUrl: string } {
  const customHeaders: Record<string, string> = {};
  if (options.auth.type === 'basic') {
    const token = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
    customHeaders.authorization = `Basic ${token}`;
  } else if (options.auth.type === 'bearer') {
    customHeaders.authorization = `Bearer ${options.auth.token}`;
  }
  const client = new Client({ baseUrl: options.baseUrl, customHeaders });
  const pagePolicy = {
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    allowedOrigins: new Set(options.allowedPageOrigins ?? []),
  };

  const tokens = options.auth.type === 'oauth' ? options.auth.tokens : undefined;

  const requestOptions = (attempt: EhrAttempt, headers?: Record<string, string>): Record<string, unknown> => {
    const all = { ...attempt.auth, ...headers };
    return {
      signal: AbortSignal.timeout(attempt.deadlineMs),
      ...(Object.keys(all).length > 0 ? { headers: all } : {}),
    };
  };

  /**
   * `run` gets the Authorization header of this attempt (none for static credentials: customHeaders
   * has them) and the time left of the call's one deadline, which a token wait and a retry after a
   * 401 share.
   */
  async function call<T>(run: (attempt: EhrAttempt) => Promise<T>, call_?: RequestOptions): Promise<T> {
    return withEhrToken({
      tokens,
      connection: options.connection,
      deadlineMs: call_?.deadlineMs ?? options.defaultDeadlineMs,
      run,
      normalize: (error) => normalizeEhrError(error, options.connection),
    });
  }

  async function searchPages<T extends Resource>(
    resourceType: T['resourceType'],
    params: SearchParams,
    call_?: RequestOptions & { readonly maxPages?: number },
  ): Promise<SearchResult<T>> {
    const maxPages = call_?.maxPages ?? 1;
    const matches: T[] = [];
    const included: Resource[] = [];
    // The first page failing fails the search: nothing is known. A later one only cuts it short.
    let bundle = await call(
      (attempt) =>
        client.search({
          resourceType,
          searchParams: toQuery(params),
          options: requestOptions(attempt),
        }) as Promise<Bundle>,
      call_,
    );
    const stop = (truncated: SearchTruncation, details: Record<string, unknown> = {}): SearchResult<T> => {
      // No URL: a next link's query can hold search values, and those can be PHI.
      options.logger?.warn(
        { connection: options.connection, resourceType, ...truncated, ...details },
        'EHR search stopped before its last page: the answer is marked truncated',
      );
      return { matches, included, truncated };
    };
    for (let page = 1; ; page++) {
      for (const entry of bundle.entry ?? []) {
        const resource = entry.resource;
        if (resource === undefined) continue;
        // Searches may include OperationOutcomes besides matches and _include'd resources.
        if (entry.search?.mode === 'include') included.push(resource);
        else if (resource.resourceType === resourceType) matches.push(resource as T);
      }
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (next === undefined) return { matches, included };
      if (page >= maxPages) {
        // A caller asking for one page wants only that: not worth a warning.
        const truncated = { reason: 'page-limit', pagesRead: page } as const;
        return maxPages > 1 ? stop(truncated) : { matches, included, truncated };
      }
      const decision = nextPageDecision(next, pagePolicy);
      if ('refuse' in decision) {
        return stop(
          { reason: decision.refuse, pagesRead: page },
          decision.origin !== undefined ? { nextOrigin: decision.origin } : {},
        );
      }
      try {
        const follow = decision.follow;
        bundle = await call(
          (attempt) => client.request(follow, { options: requestOptions(attempt) }) as Promise<Bundle>,
          call_,
        );
      } catch (error) {
        // A refused credential refuses every request of the connection alike: an outage to meet
        // (the credentials watch, a held write), not a short list served as if fresh.
        if (error instanceof ContinuumError && error.code === 'EHR_CREDENTIALS_REJECTED') throw error;
        return stop(
          { reason: 'page-failed', pagesRead: page },
          { code: error instanceof ContinuumError ? error.code : 'UNKNOWN' },
        );
      }
    }
  }

  return {
    connection: options.connection,
    baseUrl: options.baseUrl,

    async read<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      call_?: RequestOptions,
    ): Promise<T> {
      const data = await call(
        (attempt) =>
          client.read({ resourceType, id: segment(id), options: requestOptions(attempt) }) as Promise<T>,
        call_,
      );
      return data;
    },

    async readVersion<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      version: string,
      call_?: RequestOptions,
    ): Promise<T> {
      return call(
        (attempt) =>
          client.vread({
            resourceType,
            id: segment(id),
            version: segment(version),
            options: requestOptions(attempt),
          }) as Promise<T>,
        call_,
      );
    },

    async search<T extends Resource>(
      resourceType: T['resourceType'],
      params: SearchParams,
      call_?: RequestOptions,
    ): Promise<readonly T[]> {
      return (await searchPages<T>(resourceType, params, { ...call_, maxPages: 1 })).matches;
    },

    searchPages,

    async create<T extends Resource>(
      resource: T,
      call_?: RequestOptions & { readonly ifNoneExist?: string },
    ): Promise<{ readonly resource: T; readonly created: boolean }> {
      const headers = call_?.ifNoneExist !== undefined ? { 'if-none-exist': call_.ifNoneExist } : undefined;
      const data = await call(
        (attempt) =>
          client.create({
            resourceType: resource.resourceType,
            body: resource,
            options: requestOptions(attempt, headers),
          }) as Promise<T>,
        call_,
      );
      const status = responseOf(data)?.status ?? 201;
      return { resource: data, created: status === 201 };
    },

    async update<T extends Resource>(
      resource: T,
      call_?: RequestOptions & { readonly ifMatchVersion?: string },
    ): Promise<T> {
      if (resource.id === undefined)
        throw new ContinuumError('VALIDATION', { detail: 'update needs a resource id' });
      const headers = ifMatchHeader(call_?.ifMatchVersion);
      const id = segment(resource.id);
      const data = await call(
        (attempt) =>
          client.update({
            resourceType: resource.resourceType,
            id,
            body: resource,
            options: requestOptions(attempt, headers),
          }) as Promise<T>,
        call_,
      );
      return withEtagVersion(data);
    },

    async patch<T extends Resource>(
      resourceType: T['resourceType'],
      id: string,
      operations: readonly JsonPatchOperation[],
      call_?: RequestOptions & { readonly ifMatchVersion?: string },
    ): Promise<T> {
      const headers = ifMatchHeader(call_?.ifMatchVersion);
      const data = await call(
        (attempt) =>
          client.patch({
            resourceType,
            id: segment(id),
            // The same RFC 6902 document; its types are a discriminated union, ours a plain shape.
            JSONPatch: [...operations] as unknown as Parameters<Client['patch']>[0]['JSONPatch'],
            options: requestOptions(attempt, headers),
          }) as Promise<T>,
        call_,
      );
      return withEtagVersion(data);
    },

    async capabilities(call_?: RequestOptions): Promise<CapabilityStatement> {
      // Not client.capabilityStatement(): it caches its first promise, a rejected one included.
      return call(
        (attempt) =>
          client.request('metadata', {
            options: requestOptions(attempt),
          }) as Promise<CapabilityStatement>,
        call_,
      );
    },
  };
}
