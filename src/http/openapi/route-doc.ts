/** What the OpenAPI document says about one route of the route table, beyond its path and scopes. */
import type { z } from 'zod';
import type { ErrorCode } from '../../domain/errors';

/** A schema that becomes `#/components/schemas/<name>`. */
export interface NamedSchema {
  readonly name: string;
  readonly schema: z.ZodType;
}

export function named(name: string, schema: z.ZodType): NamedSchema {
  return { name, schema };
}

/** Headers the document defines once and routes name. */
export type DocumentedHeader =
  'Location' | 'Retry-After' | 'ETag' | 'Preference-Applied' | 'WWW-Authenticate';

export interface ResponseDoc {
  readonly description: string;
  /** JSON unless `mediaType` says otherwise; absent: no body. */
  readonly schema?: NamedSchema;
  /** For bodies that are not JSON (text/html, text/plain, text/javascript, application/fhir+json). */
  readonly mediaType?: string;
  readonly headers?: readonly DocumentedHeader[];
}

export interface RouteDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tag: string;
  readonly path?: z.ZodObject;
  readonly query?: z.ZodObject;
  /** Request headers beyond credentials (Prefer, Idempotency-Key... come with `write`). */
  readonly headers?: z.ZodObject;
  readonly body?: {
    readonly schema: NamedSchema;
    /** Also taken as application/x-www-form-urlencoded (IVR tools send forms). */
    readonly form: boolean;
    /** Instead of JSON (the token endpoint is a form first; FHIR bodies are application/fhir+json). */
    readonly mediaTypes?: readonly string[];
    readonly required?: boolean;
  };
  /**
   * A durable write: answers a receipt (202 queued, or with `Prefer: wait=N` 200/201 final) with
   * Location, and takes Prefer, Idempotency-Key, X-Contact-Id and X-Call-Id.
   */
  readonly write?: boolean;
  /** A write's answer when it is more than the receipt (the receipt's fields and its own). */
  readonly receipt?: NamedSchema;
  readonly responses?: Readonly<Record<number, ResponseDoc>>;
  /** Error codes the route answers besides those every route of its kind can. */
  readonly problems?: readonly ErrorCode[];
  /**
   * Codes the route also answers with another status than their own, by status: a well-formed
   * request whose value the EHR's mapping profile does not know is 422 VALIDATION, not 400.
   */
  readonly problemsAt?: Readonly<Record<number, readonly ErrorCode[]>>;
}
