/**
 * The configuration schema: the single source of truth for every key, its default and its
 * meaning. `continuum.config.yaml` and the environment are parsed against it once at start-up.
 */
import { z } from 'zod';
import { minutesOf, WEEKDAYS, type Weekday } from '../domain/callback-windows';
import { EVENT_TYPES } from '../domain/events';
import { regionCodeSchema } from '../phone';
import { sandboxAuthSchema } from './sandbox-auth-schema';
import { ehrAuthSchema } from './ehr-auth-schema';
import { pagingSchema } from './paging-schema';

/** `${ENV}` interpolation yields strings: accept "2500" where a number is expected. */
const num = <T extends z.ZodNumber>(inner: T) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v),
    inner,
  );
/** ...and "true"/"false" where a boolean is (z.coerce.boolean would read "false" as true). */
const bool = () => z.preprocess((v) => (v === 'true' ? true : v === 'false' ? false : v), z.boolean());

/** A browser origin exactly as browsers send it: scheme, host and port, no path. */
const origin = () =>
  z.string().refine((value) => {
    try {
      return new URL(value).origin === value;
    } catch {
      return false;
    }
  }, 'must be an origin such as https://desk.example.org (scheme, host, port; no path)');

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** EHR base URLs must be https; plain http only on loopback or where explicitly allowed. */
function checkBaseUrl(value: string, allowInsecureHttp: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && (LOOPBACK_HOSTS.has(url.hostname) || allowInsecureHttp)) return undefined;
  return 'must be an https URL';
}

const connectionSchema = z
  .object({
    /** FHIR R4 base URL. For the built-in sandbox, omit it: the gateway points at its own /sandbox/fhir. */
    baseUrl: z.string().optional(),
    /** Permit plain http to a non-loopback host (a private network you trust, such as docker compose). */
    allowInsecureHttp: bool().default(false),
    /** How the gateway signs in to this EHR: none, basic, bearer, client-credentials, smart-backend (README, "EHR sign-in"). */
    auth: ehrAuthSchema.default({ type: 'none' }),
    /** Deadline for reads, in ms: IVR platforms give up at 3 to 10 s. */
    readDeadlineMs: num(z.number().int().min(100).max(60000)).default(2500),
    /**
     * A copy of the audit trail's records about this connection, created in the EHR as FHIR
     * AuditEvents by the workers (for compliance teams that read the EHR's audit log).
     */
    auditForwarding: z
      .object({
        enabled: bool().default(false),
        /** Records sent per run at most. */
        batchSize: num(z.number().int().min(1).max(1000)).default(100),
        /** How often a worker sends what is new, in ms. */
        intervalMs: num(z.number().int().min(500).max(3600000)).default(5000),
      })
      .strict()
      .prefault({}),
    /** Per kind of read, a deadline of its own in ms (lookup, patient, appointments, slots, verify). */
    readDeadlines: z
      .object({
        lookup: num(z.number().int().min(100).max(60000)).optional(),
        patient: num(z.number().int().min(100).max(60000)).optional(),
        appointments: num(z.number().int().min(100).max(60000)).optional(),
        slots: num(z.number().int().min(100).max(60000)).optional(),
        verify: num(z.number().int().min(100).max(60000)).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * How long a write waits for the EHR to confirm its patient (slot, appointment) before it is
     * queued unconfirmed, in ms: a hung EHR must not hold the 202. The worker still asks the EHR.
     */
    acceptCheckMs: num(z.number().int().min(50).max(60000)).default(250),
    /**
     * How long a read that has a cached answer waits for the EHR before answering from the cache,
     * in ms; the EHR's answer, when it comes, refreshes the cache. Reads with nothing cached wait
     * the full read deadline.
     */
    staleAfterMs: num(z.number().int().min(50).max(60000)).default(250),
    /** Deadline for writes sent by workers, in ms. */
    writeTimeoutMs: num(z.number().int().min(100).max(300000)).default(15000),
    /**
     * How long, in seconds, a patient the EHR confirmed (read, lookup, accepted write) lets later
     * writes for it be queued without asking the EHR again (0 = ask on every write).
     */
    confirmedPatientTtlSeconds: num(z.number().int().min(0).max(86400)).default(300),
    /**
     * A lookup the phone index answers with reads by id also searches the EHR by phone in the
     * background, to learn of patients who took the number outside Continuum; at most once per
     * number in this many seconds per process (0 = after every such lookup).
     */
    lookupRecheckSeconds: num(z.number().int().min(0).max(86400)).default(300),
    /** Mapping profile folder name under `mappings.dir`. */
    mappingProfile: z.string().min(1).default('default'),
    /**
     * The EHR at baseUrl is a Continuum sandbox (`continuum sandbox`, another gateway's
     * /sandbox/fhir), not a real EHR: only then may its profile name the sandbox's MRN system.
     */
    sandboxEhr: bool().default(false),
    /**
     * Writes per second sent to this EHR at most, also while a backlog drains (0 = no cap). A hard
     * cap over the adaptive limit (`drain`), for an EHR whose contract states its rate.
     */
    maxWritesPerSecond: num(z.number().int().min(0).max(100000)).default(0),
    /**
     * How many writes are sent to this EHR at once: found while draining, from the EHR's latency and
     * throttling, and shared by every worker process (see src/domain/drain-limit.ts).
     */
    drain: z
      .object({
        /**
         * Off: every worker process sends as many writes at once as `queue.concurrency`. Default: on
         * for an EHR at a URL, off for the built-in sandbox, which runs in the gateway's own process:
         * its latency is that process's CPU, and the limit would only measure itself.
         */
        adaptive: bool().optional(),
        initialLimit: num(z.number().int().min(1).max(1000)).default(4),
        minLimit: num(z.number().int().min(1).max(1000)).default(1),
        maxLimit: num(z.number().int().min(1).max(1000)).default(64),
        /** Grow only while the mean latency is within this many times the baseline. */
        growBelow: num(z.number().min(1).max(10)).default(1.3),
        /** Cut once the mean latency is past this many times the baseline. */
        cutAbove: num(z.number().min(1.1).max(20)).default(2),
        /** What a cut keeps of the limit. */
        cutFactor: num(z.number().min(0.1).max(0.95)).default(0.75),
        /**
         * The least baseline latency is judged against, in ms: below it, what is measured is mostly
         * the gateway's own CPU, not the EHR (a sandbox answering in a millisecond, on the same cores).
         */
        baselineFloorMs: num(z.number().min(0).max(10000)).default(20),
        /** How often the EHR's latency and throttling are judged, in ms. */
        windowMs: num(z.number().int().min(50).max(60000)).default(250),
      })
      .strict()
      .refine((d) => d.minLimit <= d.initialLimit && d.initialLimit <= d.maxLimit, {
        message: 'needs minLimit <= initialLimit <= maxLimit',
      })
      .refine((d) => d.growBelow < d.cutAbove, { message: 'growBelow must be below cutAbove' })
      .prefault({}),
    /**
     * How this EHR signs the notifications it pushes to POST /webhooks/ehr/<name>. Absent: the
     * endpoint refuses every notification for this connection (nothing unsigned is ever accepted).
     */
    webhooks: z
      .discriminatedUnion('scheme', [
        z
          .object({
            /** HMAC-SHA256 of the raw body, hex, in a header (Medplum's `X-Signature`). */
            scheme: z.literal('hmac-sha256'),
            secret: z.string().min(16, 'must be at least 16 characters'),
            header: z.string().min(1).default('x-signature'),
          })
          .strict(),
        z
          .object({
            /** Standard Webhooks: webhook-id, webhook-timestamp, webhook-signature; 5-minute window. */
            scheme: z.literal('standard-webhooks'),
            /** `whsec_` + base64, as the Standard Webhooks libraries take it. */
            secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'must be whsec_ followed by base64'),
          })
          .strict(),
        z
          .object({
            /** A static secret sent as `Authorization: Bearer <secret>`. */
            scheme: z.literal('bearer'),
            secret: z.string().min(16, 'must be at least 16 characters'),
          })
          .strict(),
      ])
      .optional(),
    /**
     * FHIR Subscriptions that `continuum subscriptions sync` keeps on the EHR, pointing at this
     * gateway's webhook endpoint (`publicUrl`, as the EHR reaches the gateway).
     */
    subscriptions: z
      .object({
        publicUrl: z.url('must be a URL'),
        /** Resource types to be notified of. */
        resources: z
          .array(z.enum(['Patient', 'Appointment', 'Encounter']))
          .min(1)
          .default(['Patient', 'Appointment', 'Encounter']),
      })
      .strict()
      .optional(),
    /** What this EHR supports; the use cases choose their FHIR interactions from it. */
    capabilities: z
      .object({
        /** `Patient?phone=` works; off: lookups use Continuum's phone index, confirmed by reads. */
        phoneSearch: bool().default(true),
        /**
         * How the formats a number may be stored in are searched: one query with comma-separated
         * alternatives (`combined`), one query per format sent at once (`parallel`), or the faster
         * of the two, timed on the connection's first searches (`auto`). `combined` by default:
         * timed at low load, `parallel` can win and then cost the EHR one query per format for every
         * caller at the peak (about ten times the EHR's CPU of one query, enough to open the breaker
         * at 50 callers on the sandbox); choose `auto` or `parallel` after measuring the EHR under load.
         */
        phoneSearchQuery: z
          .enum(['auto', 'combined', 'parallel'], { error: 'must be auto, combined or parallel' })
          .default('combined'),
        /** `If-None-Exist` is honoured on create; off: creates search by identifier first. */
        conditionalCreate: bool().default(true),
        /** Changes as whole resources (`put`) or JSON Patch (`patch`). */
        update: z.enum(['put', 'patch'], { error: 'must be put or patch' }).default('put'),
        /** The EHR refuses updates without If-Match. */
        ifMatchRequired: bool().default(false),
        scheduling: z
          .enum(['slots'], {
            error:
              'must be slots: the generic FHIR R4 adapter books through Slot search and Appointment create; EHRs that schedule with Appointment/$find and $book need their own adapter',
          })
          .default('slots'),
      })
      .strict()
      .prefault({}),
    /** Which hosts a search's next links may be followed to: see paging-schema.ts. */
    paging: pagingSchema,
    breaker: z
      .object({
        /** Consecutive failures or timeouts that open the breaker and pause this EHR's writes. */
        failureThreshold: num(z.number().int().min(1).max(1000)).default(5),
        /**
         * How often an open breaker probes the EHR's /metadata, in ms: one small read, so often
         * enough that writes resume within about this long of the EHR's return.
         */
        probeIntervalMs: num(z.number().int().min(100).max(600000)).default(1000),
        /**
         * While the breaker is open, how long the connection's writes wait before looking at it
         * again, in ms. Each worker sleeps out a wait it began (BullMQ times it in the process, so
         * lifting the pause in Redis when the EHR returns wakes no one): short waits are what keep
         * writes from sitting idle after a probe finds the EHR back. Each look costs a few Redis calls.
         */
        recheckMs: num(z.number().int().min(50).max(60000)).default(500),
        /**
         * A hung EHR opens the breaker without waiting for its calls to expire: `stalledCalls` calls
         * in flight longer than `stallAfterMs` while the EHR answered nothing for as long (0 = off).
         */
        stalledCalls: num(z.number().int().min(0).max(1000)).default(3),
        stallAfterMs: num(z.number().int().min(100).max(60000)).default(1200),
      })
      .strict()
      .prefault({}),
    /**
     * While the EHR refuses this connection's credentials, how often one process retries them with
     * an authenticated read, in ms. Slow by default: some EHRs lock out a client that keeps failing
     * to sign in, and a reload of the credentials retries at once anyway.
     */
    credentialsProbeIntervalMs: num(z.number().int().min(100).max(3_600_000)).default(30000),
  })
  .strict()
  .check(
    // Runs even when other fields of the connection are invalid, so every problem is reported at once.
    z.superRefine<{ baseUrl?: unknown; allowInsecureHttp?: unknown; auth?: unknown }>(
      (connection, ctx) => {
        const tokenUrl = (connection.auth as { tokenUrl?: unknown } | undefined)?.tokenUrl;
        if (typeof tokenUrl === 'string') {
          // The token endpoint receives the gateway's credentials: the same rule as the EHR itself.
          const problem = checkBaseUrl(tokenUrl, connection.allowInsecureHttp === true);
          if (problem !== undefined)
            ctx.addIssue({ code: 'custom', path: ['auth', 'tokenUrl'], message: problem });
        }
        if (typeof connection.baseUrl !== 'string') return;
        const problem = checkBaseUrl(connection.baseUrl, connection.allowInsecureHttp === true);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', path: ['baseUrl'], message: problem });
      },
      { when: () => true },
    ),
  );

export type ConnectionConfig = z.infer<typeof connectionSchema>;

const eventTypes = z.array(z.enum(EVENT_TYPES, { error: `must be one of ${EVENT_TYPES.join(', ')}` })).min(1);

/** A vendor API base URL: https, or http on loopback (local stand-ins). */
const platformBaseUrl = () =>
  z.string().refine((value) => checkBaseUrl(value, false) === undefined, 'must be an https URL');

const GENESYS_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Platform subscribers place calls, so they act on `callback.requested` only: its Task holds the
 * number to call. Other events carry no number (and no PHI) to act on.
 */
const callbackEventTypes = z
  .array(
    z.enum(['callback.requested'], {
      error: 'only callback.requested: platform subscribers call the number of the Task it names',
    }),
  )
  .min(1)
  .default(['callback.requested']);

/** Where events go: a signed webhook (Standard Webhooks), or a platform's own API. */
export const subscriberSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('webhook'),
      name: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and -'),
      url: z.url('must be a URL'),
      /** `whsec_` + base64: the subscriber verifies signatures with it. */
      secret: z.string().regex(/^whsec_[A-Za-z0-9+/=]{16,}$/, 'must be whsec_ followed by base64'),
      /** Event types sent; absent: all. */
      types: eventTypes.optional(),
      /** Sent as `tenant` in every event, for tools that serve several organisations. */
      tenant: z.string().min(1).optional(),
    })
    .strict(),
  z
    .object({
      /** Genesys Cloud: each `callback.requested` becomes a callback in a queue (Conversations API). */
      kind: z.literal('genesys-callback'),
      name: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and -'),
      /** The org's region domain (`mypurecloud.com`, `usw2.pure.cloud`...): api.<region>, login.<region>. */
      region: z
        .string()
        .regex(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'must be a region domain such as mypurecloud.com')
        .optional(),
      /** Instead of `region`, both base URLs (https, or http on loopback). */
      apiBase: platformBaseUrl().optional(),
      loginBase: platformBaseUrl().optional(),
      /** An OAuth client with the client-credentials grant and a role that may create callbacks. */
      clientId: z.string().min(1),
      clientSecret: z.string().min(1),
      queueId: z.string().regex(GENESYS_ID, 'must be a Genesys Cloud queue id (a UUID)'),
      types: callbackEventTypes,
    })
    .strict()
    .superRefine((subscriber, ctx) => {
      const explicit = subscriber.apiBase !== undefined || subscriber.loginBase !== undefined;
      if (explicit && subscriber.region !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['region'],
          message: 'give region or apiBase and loginBase, not both',
        });
      } else if (!explicit && subscriber.region === undefined) {
        ctx.addIssue({ code: 'custom', path: ['region'], message: 'required (or apiBase and loginBase)' });
      }
      for (const key of ['apiBase', 'loginBase'] as const) {
        if (explicit && subscriber[key] === undefined) {
          ctx.addIssue({ code: 'custom', path: [key], message: 'required with apiBase or loginBase' });
        }
      }
    }),
  z
    .object({
      /** Twilio Studio: each `callback.requested` starts an Execution of a Flow, To the callback number. */
      kind: z.literal('twilio-studio'),
      name: z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and -'),
      apiBase: platformBaseUrl().default('https://studio.twilio.com'),
      accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'must be an account SID (AC and 32 hex digits)'),
      authToken: z.string().min(1),
      flowSid: z.string().regex(/^FW[0-9a-fA-F]{32}$/, 'must be a Flow SID (FW and 32 hex digits)'),
      /** The Twilio number the Flow calls from (E.164), or a Messaging Service SID. */
      from: z
        .string()
        .regex(/^(\+[1-9]\d{1,14}|MG[0-9a-fA-F]{32})$/, 'must be an E.164 number or a Messaging Service SID'),
      types: callbackEventTypes,
    })
    .strict(),
]);

export type SubscriberConfig = z.infer<typeof subscriberSchema>;

/** Requests per window in one budget of `limits`. */
const budgetPoints = num(z.number().int().min(1).max(10_000_000));
const budgetOverrides = z
  .object({
    lookup: budgetPoints.optional(),
    verify: budgetPoints.optional(),
    read: budgetPoints.optional(),
    write: budgetPoints.optional(),
  })
  .strict();

/** A connection with every default: the built-in sandbox when no connection is configured. */
export function defaultConnectionConfig(): ConnectionConfig {
  return connectionSchema.parse({});
}

const HOURS = /^([01]\d|2[0-3]):[0-5]\d-(([01]\d|2[0-3]):[0-5]\d|24:00)$/;
const openingHours = z
  .string()
  .regex(HOURS, 'must be HH:MM-HH:MM, e.g. 08:00-18:00')
  .refine((v) => {
    const [open, close] = v.split('-').map(minutesOf) as [number, number];
    return close > open;
  }, 'must close after it opens');

function validTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export const configSchema = z
  .object({
    server: z
      .object({
        port: num(z.number().int().min(0).max(65535)).default(8080),
        /** Loopback unless told otherwise: a gateway that carries PHI is not offered to a network by accident. */
        host: z.string().min(1).default('127.0.0.1'),
        /** Largest accepted request body, in bytes. */
        bodyLimitBytes: num(z.number().int().min(1024).max(10_000_000)).default(1_000_000),
        /** How long a SIGTERM waits for in-flight requests and jobs before forcing exit, in ms. */
        shutdownGraceMs: num(z.number().int().min(1000).max(600_000)).default(25_000),
        /**
         * Longest wait for a request's headers, in ms. Node's own default (a minute) lets a client
         * that sends half a request hold a socket that long.
         */
        headersTimeoutMs: num(z.number().int().min(200).max(120_000)).default(10_000),
        /**
         * Longest wait for a whole request, headers and body, in ms: a body shorter than its
         * Content-Length is cut off after this, not after Node's default of 300 s. Answers may
         * take longer (`Prefer: wait`); only receiving the request is timed.
         */
        requestTimeoutMs: num(z.number().int().min(200).max(300_000)).default(15_000),
        cors: z
          .object({
            /**
             * Browser origins (`https://desk.example.org`) allowed to call the API. Empty: no CORS
             * headers at all, so no web page can read an answer.
             */
            allowOrigins: z.array(origin()).default([]),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .refine((server) => server.headersTimeoutMs <= server.requestTimeoutMs, {
        path: ['headersTimeoutMs'],
        message: 'must not be more than requestTimeoutMs',
      })
      .prefault({}),
    /** Where the embedded Redis and generated keys live. */
    dataDir: z.string().min(1).default('./var'),
    redis: z
      .object({
        /** An external Redis (`redis://`, `rediss://`, or `unix://` path). Absent: a private redis-server child. */
        url: z.string().min(1).optional(),
        /** Refuse to accept writes on a Redis without append-only persistence. */
        requireDurability: bool().default(true),
        /** Key prefix for every queue and record (hash-tagged for Redis Cluster). */
        keyPrefix: z
          .string()
          .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
          .default('continuum'),
        /** The redis-server binary used in embedded mode. */
        binary: z.string().min(1).default('redis-server'),
      })
      .strict()
      .prefault({}),
    phone: z
      .object({
        /** Region used to read numbers written without a country code (ISO 3166 alpha-2). */
        defaultRegion: regionCodeSchema.default('US'),
      })
      .strict()
      .prefault({}),
    mappings: z
      .object({
        /** Folder holding the mapping profiles; relative paths are from the working directory. */
        dir: z.string().min(1).optional(),
        /** Reload the profiles in use when a file in their folders changes (checked first, as on SIGHUP). */
        watch: bool().default(true),
        /**
         * Patients and Appointments read per connection at start-up and reload to find read fields
         * empty on every record; 0 turns the sampling off.
         */
        sampleRecords: num(z.number().int().min(0).max(200)).default(20),
      })
      .strict()
      .prefault({}),
    sandbox: z
      .object({
        /** Serve the built-in sandbox EHR at /sandbox/fhir. Default: on when no connection is configured. */
        enabled: bool().optional(),
        /** The same default as `continuum sandbox`, so the README's tour finds the same patients either way. */
        seed: num(z.number().int()).default(1),
        patientCount: num(z.number().int().min(1).max(20000)).default(240),
        /** Require OAuth tokens on /sandbox/fhir like a real EHR: see sandbox-auth-schema.ts. */
        auth: sandboxAuthSchema,
      })
      .strict()
      .prefault({}),
    /** EHR connections by name. Absent: one connection, `sandbox`, to the built-in sandbox. */
    connections: z
      .record(z.string().regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and -'), connectionSchema)
      .optional(),
    /** The connection used when a request does not name one. */
    defaultConnection: z.string().optional(),
    queue: z
      .object({
        /**
         * Operations a worker process holds at once. With the adaptive drain limit, those past the
         * limit wait in the process for a permit, most urgent first; keep it at least
         * `drain.maxLimit` for one process to reach the limit alone.
         */
        concurrency: num(z.number().int().min(1).max(500)).default(64),
        /** How long an API write waits for Redis before answering 503, in ms. */
        enqueueTimeoutMs: num(z.number().int().min(100).max(30000)).default(2000),
        /** How often each worker process checks every lane for a missing job, in ms. */
        sweepIntervalMs: num(z.number().int().min(500).max(3600000)).default(30000),
        /** Finished operations are kept this many days for receipts. */
        retentionDays: num(z.number().min(1).max(3650)).default(30),
        /**
         * A worker holds each write it is sending under a lock of this many ms, renewed every
         * `lockRenewMs`; a worker that dies lets its lock lapse, and the stalled check, every
         * `stalledIntervalMs`, gives the write to another worker (one check marks the write, the
         * next moves it if its lock lapsed). So a dead worker holds its patients' lanes for at most
         * lockDurationMs + 2 x stalledIntervalMs. A lock that lapses while
         * its worker lives (an event loop stalled for longer than lockDurationMs - lockRenewMs, or
         * Redis unreachable that long) lets a second worker run the write while the first still
         * does. Updates stay single on EHRs that version resources (If-Match on the version read:
         * the second write meets 412, reads again and finds the change in place), and so do slot
         * marks; creates carry the operation's identifier with If-None-Exist and a read-back, which
         * holds where the EHR's conditional create is atomic and only narrows the window elsewhere.
         * The operation record's compare-and-set stops the run of a cancelled write, not a second
         * run of a live one. Hence a lock well above any pause seen in practice, renewed well
         * inside it.
         */
        lockDurationMs: num(z.number().int().min(1000).max(600000)).default(5000),
        lockRenewMs: num(z.number().int().min(100).max(300000)).default(1000),
        stalledIntervalMs: num(z.number().int().min(500).max(600000)).default(2000),
      })
      .strict()
      .refine((queue) => queue.lockRenewMs * 2 <= queue.lockDurationMs, {
        message: 'lockRenewMs must be at most half of lockDurationMs, or a live worker loses its lock',
        path: ['lockRenewMs'],
      })
      .prefault({}),
    /** The pipeline history the operator console draws: see README, "Console". */
    statusHistory: z
      .object({
        /** How often each API process samples every connection's pipeline, in ms (one sample per interval is kept). */
        intervalMs: num(z.number().int().min(1000).max(60000)).default(5000),
      })
      .strict()
      .prefault({}),
    /** Limits on what the write store takes: see README, "Storage quota". */
    storage: z
      .object({
        /**
         * Writes one client may have waiting (queued or sending) at once; past it, its new writes
         * get 503 WRITE_QUOTA_EXCEEDED until some finish (0 = no cap).
         */
        queuedWritesPerClient: num(z.number().int().min(0).max(10_000_000)).default(10_000),
        /** The same cap for every client of a tenant, by tenant name. */
        perTenant: z.record(z.string().min(1), num(z.number().int().min(0).max(10_000_000))).default({}),
        /** The same cap for one client, by client id (`cl_...`): wins over its tenant's. */
        perClient: z.record(z.string().min(1), num(z.number().int().min(0).max(10_000_000))).default({}),
        /**
         * The memory limit writes are measured against when Redis has none (`maxmemory 0`), and
         * the embedded Redis's `maxmemory`. With both, the lower counts. Absent for an external
         * Redis without a maxmemory: no memory refusal (a warning at start-up).
         */
        maxMemoryBytes: num(z.number().int().min(1_000_000)).optional(),
        /**
         * Memory kept for queued writes to drain and their receipts: new writes get 503
         * STORAGE_FULL once Redis's free memory is within it. Default: `headroomPercent` of the limit.
         */
        headroomBytes: num(z.number().int().min(0)).optional(),
        headroomPercent: num(z.number().min(0).max(90)).default(10),
        /** How often Redis's memory is read, in ms (never once per write). */
        readIntervalMs: num(z.number().int().min(50).max(60_000)).default(1000),
      })
      .strict()
      .prefault({}),
    cache: z
      .object({
        /**
         * How long the continuity cache keeps the last good answer of each read, in hours: the
         * longest EHR outage during which agents still see patients and appointments.
         */
        ttlHours: num(
          z
            .number()
            .min(1)
            .max(24 * 90),
        ).default(24 * 7),
        /**
         * Fills the cache before an outage rather than only with what agents happened to read: the
         * patients with appointments in the next `days` (at `locations`, FHIR Location ids; empty =
         * all) have their default summary read every `intervalMinutes`, by one worker process per
         * connection at a time.
         */
        warmup: z
          .object({
            enabled: bool().default(true),
            days: num(z.number().int().min(1).max(14)).default(2),
            locations: z.array(z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id')).default([]),
            intervalMinutes: num(z.number().int().min(5).max(1440)).default(60),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    verify: z
      .object({
        /** Failed identity verifications a caller may make per window before it is refused (429). */
        maxFailedAttempts: num(z.number().int().min(1).max(1000)).default(5),
        /** The window those failures are counted in, in minutes. */
        windowMinutes: num(
          z
            .number()
            .min(1)
            .max(24 * 60),
        ).default(15),
        /**
         * Failed verifications counted per patient, across every caller and client: past
         * `maxFailedAttempts` in `windowSeconds`, phone self-verification for that patient is held
         * for `holdSeconds` (429, `hold: 'patient'`) and subscribers hear `patient.verification-held`.
         */
        patientHold: z
          .object({
            maxFailedAttempts: num(z.number().int().min(1).max(100_000)).default(10),
            windowSeconds: num(z.number().int().min(1).max(86_400)).default(900),
            holdSeconds: num(z.number().int().min(1).max(86_400)).default(600),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    audit: z
      .object({
        /**
         * Off only to measure what the trail costs (the benchmark does): a HIPAA-covered deployment
         * keeps it on. Off, PHI routes are served unrecorded and the start-up log says so.
         */
        enabled: bool().default(true),
        /** Audit records are kept in Redis this many days, then trimmed by time (never by count). */
        retentionDays: num(z.number().min(1).max(3650)).default(90),
        /** A copy of every record as FHIR AuditEvent JSON lines, for a log shipper or an archive. */
        file: z
          .object({
            path: z.string().min(1),
            /** The file is rotated (renamed with a timestamp) past this size. */
            maxBytes: num(z.number().int().min(1024)).default(100 * 1024 * 1024),
            /** Rotated files kept; older ones are deleted. */
            keep: num(z.number().int().min(1).max(1000)).default(10),
          })
          .strict()
          .optional(),
      })
      .strict()
      .prefault({}),
    /** When the contact center calls people back (POST /v1/patients/:id/callback-request): see README, "Crisis operations". */
    callbacks: z
      .object({
        windows: z
          .object({
            /** The IANA time zone the hours are in. */
            timeZone: z
              .string()
              .min(1)
              .refine(validTimeZone, 'must be an IANA time zone such as America/New_York')
              .default('America/New_York'),
            /** Hours per weekday as `HH:MM-HH:MM` (end may be `24:00`); null or absent: no callbacks that day. */
            hours: z
              .object(
                Object.fromEntries(
                  WEEKDAYS.map((day) => [day, openingHours.nullable().optional()]),
                ) as Record<Weekday, z.ZodOptional<z.ZodNullable<typeof openingHours>>>,
              )
              .strict()
              .default({
                mon: '08:00-18:00',
                tue: '08:00-18:00',
                wed: '08:00-18:00',
                thu: '08:00-18:00',
                fri: '08:00-18:00',
              }),
            lengthMinutes: num(
              z
                .number()
                .int()
                .min(15)
                .max(24 * 60),
            ).default(120),
            /** Callbacks promised per window at most; the next request gets the next window. */
            capacity: num(z.number().int().min(1).max(100_000)).default(20),
            /** A window already under way is offered only while this many minutes of it remain. */
            minRemainingMinutes: num(
              z
                .number()
                .int()
                .min(0)
                .max(24 * 60),
            ).default(30),
            /** How far ahead a free window is looked for before the request is refused. */
            searchDays: num(z.number().int().min(1).max(60)).default(14),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** Call-center tools told of changes and of the fate of writes (see README, "Events"). */
        subscribers: z.array(subscriberSchema).default([]),
      })
      .strict()
      .prefault({}),
    /** Request budgets per API client, shared by every process (see README, "Rate limits"). */
    limits: z
      .object({
        /** Off only to measure what the budgets cost (the benchmark does); a deployment keeps them on. */
        enabled: bool().default(true),
        /** The window every budget is counted over, in seconds. */
        windowSeconds: num(z.number().int().min(1).max(3600)).default(60),
        /** Requests each client may make per window: lookups, verifications, reads of PHI, writes. */
        budgets: z
          .object({
            lookup: budgetPoints.default(6000),
            verify: budgetPoints.default(1200),
            read: budgetPoints.default(12000),
            write: budgetPoints.default(12000),
          })
          .strict()
          .prefault({}),
        /** Budgets of every client of a tenant, by tenant name (budgets left out keep the default). */
        perTenant: z.record(z.string().min(1), budgetOverrides).default({}),
        /** Budgets of one client, by client id (`cl_...`); they win over its tenant's. */
        perClient: z.record(z.string().min(1), budgetOverrides).default({}),
        /**
         * Scanning: a client whose lookups find nobody for more than `distinctMisses` distinct
         * numbers within `windowSeconds` has its lookups refused for `throttleSeconds`, and
         * subscribers hear `abuse.suspected`.
         */
        scanning: z
          .object({
            distinctMisses: num(z.number().int().min(1).max(100_000)).default(30),
            windowSeconds: num(z.number().int().min(10).max(3600)).default(60),
            throttleSeconds: num(z.number().int().min(1).max(86_400)).default(300),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    encryption: z
      .object({
        /**
         * 32-byte key, base64, for AES-256-GCM on PHI at rest in Redis (use `${ENV}`). Absent: a key
         * is generated once under `dataDir/keys` (every process sharing the Redis must share it).
         */
        key: z
          .string()
          .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be 32 bytes, base64-encoded')
          .optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Tenants: each names the EHR connections its clients may use (the first is its default) and
     * optionally the locations whose slots and appointments they see. Absent: one tenant,
     * `default`, with every connection.
     */
    tenants: z
      .record(
        z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lowercase letters, digits and -'),
        z
          .object({
            connections: z.array(z.string().min(1)).min(1, 'name at least one connection'),
            locations: z.array(z.string().regex(/^[A-Za-z0-9\-.]{1,64}$/, 'must be a FHIR id')).optional(),
          })
          .strict(),
      )
      .optional(),
    auth: z
      .object({
        /** The tenant of the admin client created on a first start with no clients. */
        adminTenant: z.string().min(1).default('default'),
        /** Where the first start writes the admin client's key (mode 0600); relative to dataDir. */
        adminKeyFile: z.string().min(1).default('admin.key'),
        /** Lifetime of the access tokens POST /oauth/token issues. */
        tokenTtlSeconds: num(z.number().int().min(60).max(86_400)).default(900),
        /** The `iss` of those tokens; absent: `continuum`. Their `aud` is always `continuum`. */
        issuer: z.string().min(1).default('continuum'),
        /**
         * A center's own identity provider (Okta, Entra ID, Keycloak): its JWTs are accepted as
         * bearer tokens, confined to `tenant`, with the scopes its `scopeClaim` grants.
         */
        identityProviders: z
          .array(
            z
              .object({
                name: z.string().regex(/^[a-z0-9-]{1,40}$/, 'lowercase letters, digits and -'),
                issuer: z.string().min(1),
                // Keys fetched over plain http could be swapped in transit, and tokens forged with them.
                jwksUrl: z
                  .url('must be a URL')
                  .refine(
                    (u) =>
                      u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u),
                    'must be https (plain http only on loopback)',
                  ),
                audience: z.string().min(1),
                tenant: z.string().min(1),
                /** `scope` (space-separated, RFC 9068), `scp` (Entra ID, Okta: string or array). */
                scopeClaim: z.string().min(1).default('scope'),
                /** The claim naming the calling application: `azp`, `client_id`, `appid` or `sub`. */
                clientIdClaim: z.string().min(1).default('sub'),
                /** Tolerated clock difference with the provider. */
                clockToleranceSeconds: num(z.number().int().min(0).max(300)).default(30),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .prefault({}),
    logging: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type RawConfig = z.infer<typeof configSchema>;
