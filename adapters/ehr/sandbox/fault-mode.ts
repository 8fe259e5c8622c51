import { z } from 'zod';

/** A day: long enough for any drill, short enough that a forgotten fault does not outlive the demo. */
const MAX_DURATION_MS = 86_400_000;
/** Above this a client has long given up; a larger value is surely a typo (seconds given as ms twice over). */
const MAX_LATENCY_MS = 300_000;
/** Far past any EHR a benchmark stands in for; the bound keeps a typo from holding thousands of requests. */
const MAX_CONCURRENT = 10_000;

/**
 * `http429`: an EHR throttling its clients (Retry-After when given), as Epic and Oracle do under load.
 * `http401` / `http403`: an EHR refusing the client's credentials (an expired or revoked token, a
 * client whose access was withdrawn) on every path but `metadata`, which real servers serve without one.
 */
const failureKind = z.enum(['refuse', 'http503', 'http429', 'http401', 'http403']);
const rate = z.number().min(0).max(1);
const seed = z.number().int().min(0).max(0xffffffff);

/**
 * Which FHIR paths a fault applies to: resource types (`Patient`) or `metadata`, matched as the first
 * path segments; `/` alone means the base (transactions and batches). Absent: every path.
 */
const paths = z
  .array(
    z
      .string()
      .regex(/^\/?[A-Za-z0-9_$.\-/]*$/, 'must be a FHIR path such as "Patient" or "metadata"')
      .max(200)
      .transform((path) => path.replace(/^\/+|\/+$/g, '')),
  )
  .min(1)
  .max(50);

/** Options every fault has: a path filter and an end, after which the sandbox is `up` again by itself. */
const scope = {
  paths: paths.optional(),
  /** Epoch milliseconds. */
  untilMs: z.number().int().positive().optional(),
  durationMs: z.number().int().positive().max(MAX_DURATION_MS).optional(),
};

const upSchema = z.object({ mode: z.literal('up') }).strict();

const downSchema = z
  .object({
    mode: z.literal('down'),
    /**
     * `refuse`: the connection is dropped with no HTTP answer; `http503` / `http429`: a 503 / 429
     * OperationOutcome; `http401` / `http403`: the credentials refused (OperationOutcome `login` /
     * `forbidden`), `metadata` still answered.
     */
    kind: failureKind.default('refuse'),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    ...scope,
  })
  .strict();

const slowSchema = z
  .object({
    mode: z.literal('slow'),
    latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS),
    /** Up to this much more, uniformly: `latencyMs` stays the floor, so tests can rely on it. */
    jitterMs: z.number().int().min(0).max(MAX_LATENCY_MS).default(0),
    seed: seed.optional(),
    ...scope,
  })
  .strict();

const flakySchema = z
  .object({
    mode: z.literal('flaky'),
    /** Share of requests that fail. */
    failureRate: rate,
    /** Share of the failing writes that fail only after the write was committed. */
    afterCommitRate: rate.default(0),
    /** How a committed write's answer is lost: a dropped connection, or a 500 in place of the real answer. */
    afterCommitMode: z.enum(['reset', 'http500']).default('reset'),
    /** How the other failures look. An overloaded EHR mostly sheds load with 503s, hence the default. */
    kind: failureKind.default('http503'),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    /** Absent: one is drawn and shown by `get()`, so a run can be repeated. */
    seed: seed.optional(),
    ...scope,
  })
  .strict();

/**
 * An EHR with limited capacity: at most `concurrent` requests served at once, each for `latencyMs` (plus
 * jitter) on top of its real handling; up to `queueDepth` more wait their turn in arrival order, and past
 * that the EHR answers 429. `queueDepth` absent: twice `concurrent`, filled in when the mode is set.
 */
const capacitySchema = z
  .object({
    mode: z.literal('capacity'),
    concurrent: z.number().int().min(1).max(MAX_CONCURRENT),
    latencyMs: z.number().int().min(0).max(MAX_LATENCY_MS),
    jitterMs: z.number().int().min(0).max(MAX_LATENCY_MS).default(0),
    queueDepth: z
      .number()
      .int()
      .min(0)
      .max(MAX_CONCURRENT * 10)
      .optional(),
    /** On the 429s; absent: no `Retry-After`, as many EHRs throttle without one. */
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    seed: seed.optional(),
    ...scope,
  })
  .strict();

const noBothEnds = (
  value: { untilMs?: number | undefined; durationMs?: number | undefined },
  ctx: z.RefinementCtx,
) => {
  if (value.untilMs !== undefined && value.durationMs !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['durationMs'],
      message: 'give either untilMs or durationMs, not both',
    });
  }
};

const retryAfterNeeds503 = (
  value: { kind: z.output<typeof failureKind>; retryAfterSeconds?: number | undefined },
  ctx: z.RefinementCtx,
) => {
  if (value.retryAfterSeconds !== undefined && value.kind !== 'http503' && value.kind !== 'http429') {
    ctx.addIssue({
      code: 'custom',
      path: ['retryAfterSeconds'],
      message:
        value.kind === 'refuse'
          ? 'only applies with kind "http503" or "http429": a refused connection carries no headers'
          : 'only applies with kind "http503" or "http429": a refused credential is not a wait',
    });
  }
};

export const faultModeSchema = z.discriminatedUnion('mode', [
  upSchema,
  downSchema.superRefine(noBothEnds).superRefine(retryAfterNeeds503),
  slowSchema.superRefine(noBothEnds),
  flakySchema.superRefine(noBothEnds).superRefine(retryAfterNeeds503),
  capacitySchema.superRefine(noBothEnds).transform((mode) => ({
    ...mode,
    queueDepth: mode.queueDepth ?? mode.concurrent * 2,
  })),
]);

/** A fault mode with its defaults filled in, as `get()` reports it. */
export type FaultMode = z.output<typeof faultModeSchema>;
/** A fault mode as callers write it: defaults may be left out. */
export type FaultModeInput = z.input<typeof faultModeSchema>;
export type FaultKind = z.output<typeof failureKind>;
export type CapacityMode = Extract<FaultMode, { mode: 'capacity' }>;

export interface FaultFieldProblem {
  readonly field: string;
  readonly message: string;
}

/** A fault mode that does not validate, with each offending field named (never its value). */
export class FaultModeError extends Error {
  constructor(readonly problems: readonly FaultFieldProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join('; '));
    this.name = 'FaultModeError';
  }
}

export function parseFaultMode(input: unknown): FaultMode {
  const parsed = faultModeSchema.safeParse(input);
  if (!parsed.success) {
    throw new FaultModeError(parsed.error.issues.flatMap(toProblems));
  }
  return parsed.data;
}

function toProblems(issue: z.core.$ZodIssue): FaultFieldProblem[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      field: fieldPath([...issue.path, key]),
      message: 'is not an option of this mode',
    }));
  }
  return [{ field: fieldPath(issue.path) || '(body)', message: issue.message }];
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') {
      return `${acc}[${String(part)}]`;
    }
    return acc === '' ? String(part) : `${acc}.${String(part)}`;
  }, '');
}
