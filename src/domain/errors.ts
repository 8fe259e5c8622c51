/**
 * The one error taxonomy. Every failure that crosses a boundary becomes a ContinuumError with a
 * stable `code`; the HTTP edge renders it as problem+json, workers turn `retryable` into
 * retry-or-stop. Codes are documented in README.md ("Error codes"); never rename one.
 */
export const ERROR_CODES = {
  VALIDATION: { status: 400, retryable: false, title: 'The request is not valid' },
  MALFORMED_BODY: { status: 400, retryable: false, title: 'The request body could not be parsed' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, retryable: false, title: 'Unsupported content type' },
  PAYLOAD_TOO_LARGE: { status: 413, retryable: false, title: 'The request body is too large' },
  NOT_FOUND: { status: 404, retryable: false, title: 'Not found' },
  IDEMPOTENCY_MISMATCH: {
    status: 422,
    retryable: false,
    title: 'The idempotency key was already used with another request body',
  },
  CONFLICT: { status: 409, retryable: false, title: 'The resource changed since it was read' },
  SLOT_TAKEN: { status: 409, retryable: false, title: 'The slot is no longer free' },
  LOCATION_CLOSED: {
    status: 409,
    retryable: false,
    title: 'The location is closed at that time: only video or phone visits are taken',
  },
  DUPLICATE_EVENT: { status: 409, retryable: false, title: 'This notification was already received' },
  UNAUTHORIZED: {
    status: 401,
    retryable: false,
    title: 'The request carries no valid credential',
  },
  FORBIDDEN: { status: 403, retryable: false, title: 'The client may not do this' },
  TOO_MANY_ATTEMPTS: { status: 429, retryable: true, title: 'Too many failed attempts' },
  TOO_MANY_REQUESTS: { status: 429, retryable: true, title: "The client's request budget is spent" },
  EHR_UNAVAILABLE: { status: 503, retryable: true, title: 'The EHR is unavailable' },
  EHR_THROTTLED: { status: 503, retryable: true, title: 'The EHR asked for fewer requests' },
  EHR_REJECTED: { status: 422, retryable: false, title: 'The EHR rejected the request' },
  EHR_CREDENTIALS_REJECTED: {
    status: 503,
    retryable: true,
    title: "The EHR refused the gateway's credentials",
  },
  MAPPING_FAILED: {
    status: 500,
    retryable: false,
    title: 'The mapping profile failed on this record',
  },
  QUEUE_UNAVAILABLE: { status: 503, retryable: true, title: 'The write queue is unavailable' },
  WRITE_OUTCOME_UNKNOWN: {
    status: 503,
    retryable: true,
    title: 'The write may have been taken: the write queue stopped answering after it was sent',
  },
  WRITE_QUOTA_EXCEEDED: {
    status: 503,
    retryable: true,
    title: 'This client has as many writes waiting as it may: nothing was taken',
  },
  STORAGE_FULL: {
    status: 503,
    retryable: true,
    title: 'The write store is near its memory limit: nothing was taken',
  },
  NOT_READY: { status: 503, retryable: true, title: 'The gateway is not ready' },
  INTERNAL: { status: 500, retryable: true, title: 'Internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ContinuumErrorOptions {
  /** Safe, PHI-free text for the caller (no names, phones, birth dates). */
  readonly detail?: string;
  readonly cause?: unknown;
  /** Overrides the code's default HTTP status (e.g. an EHR 404 surfaced as NOT_FOUND). */
  readonly status?: number;
  /** Seconds the caller should wait before retrying, when known (429 Retry-After, breaker). */
  readonly retryAfterSeconds?: number;
  /** Structured, PHI-free extras rendered into problem+json (e.g. `errors[]` for VALIDATION). */
  readonly extra?: Readonly<Record<string, unknown>>;
  /** The EHR's OperationOutcome, kept for receipts; never logged verbatim. */
  readonly outcome?: unknown;
}

export class ContinuumError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly detail: string | undefined;
  readonly retryAfterSeconds: number | undefined;
  readonly extra: Readonly<Record<string, unknown>> | undefined;
  readonly outcome: unknown;

  constructor(code: ErrorCode, options: ContinuumErrorOptions = {}) {
    const spec = ERROR_CODES[code];
    super(options.detail ?? spec.title, { cause: options.cause });
    this.name = 'ContinuumError';
    this.code = code;
    this.status = options.status ?? spec.status;
    this.retryable = spec.retryable;
    this.detail = options.detail;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.extra = options.extra;
    this.outcome = options.outcome;
  }

  get title(): string {
    return ERROR_CODES[this.code].title;
  }

  /** A PHI-free summary for receipts and logs. */
  toJSON(): { code: ErrorCode; status: number; retryable: boolean; detail: string | undefined } {
    return { code: this.code, status: this.status, retryable: this.retryable, detail: this.detail };
  }
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

export function validationError(problems: readonly FieldProblem[]): ContinuumError {
  const detail = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  return new ContinuumError('VALIDATION', { detail, extra: { errors: problems } });
}

export function isContinuumError(value: unknown): value is ContinuumError {
  return value instanceof ContinuumError;
}

/** Codes that say the EHR cannot serve this connection now, whatever was asked of it. */
const EHR_OUTAGE_CODES: ReadonlySet<ErrorCode> = new Set([
  'EHR_UNAVAILABLE',
  'EHR_THROTTLED',
  // A refused credential refuses every request alike: an outage of the connection, not a verdict on this one.
  'EHR_CREDENTIALS_REJECTED',
]);

/**
 * The EHR could not answer now: down, timing out, asking for fewer requests, or refusing the
 * gateway's own credentials. Reads fall back to the cache.
 */
export function isEhrUnavailable(error: unknown): error is ContinuumError {
  return error instanceof ContinuumError && EHR_OUTAGE_CODES.has(error.code);
}
