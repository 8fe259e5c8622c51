/**
 * What authentication costs a request, against a lookup's CPU, measured side by side in one run.
 *
 * Authentication cannot be turned off in the product (there is no switch, on purpose), so the step
 * itself is measured: the gateway's access-control middleware (route lookup, credential parse,
 * authenticateCredential, tenant and scope check, the caller and its logger on the response) for a
 * `GET /v1/patients/lookup`, wired as a gateway wires it (src/wiring/access.ts: the client registry
 * on the bench's Redis under the gateway's key prefix, the token service on the gateway's signing
 * key), called in this process once per request, one after another, CPU from
 * process.cpuUsage(). Against it: the API process's CPU per `GET /v1/patients/lookup` in the lookup
 * benchmark of the same run (from /proc, over the whole measured load, its authentication
 * included).
 *
 * Warm: one credential, answered from the registry's memory after its first use, which is what
 * nearly every request meets. Redis commands are counted on the registry's own connection: a warm
 * call must send none. Cold: every call presents the key (or a token) of a client this process has
 * not seen, so the registry asks Redis: the key's hash, then the client's record (two round trips);
 * for a token, the client's record (one). A hundred such calls first warm that path up, unmeasured.
 * A key is cold once per gateway process, then again 30 s later (the cache's TTL) or after its
 * client changes.
 *
 * A tight loop is the kindest setting for any code (warm CPU caches, no other work in between), so
 * the warm figures are a floor; the goal (under 5% of a lookup) leaves room for that.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Redis } from 'ioredis';
import type { Config } from '../src/config/load-config';
import type { AuthMethod, ClientInfo, Principal, Scope } from '../src/domain/access';
import type { Logger } from '../src/domain/ports';
import { accessControl } from '../src/http/access-control';
import type { Caller } from '../src/http/caller';
import { routeMatcher } from '../src/http/route-table';
import { createLogger } from '../src/observability/logger';
import { authenticateCredential } from '../src/use-cases/client-authentication';
import { buildAccess } from '../src/wiring/access';
import { Closeables } from '../src/wiring/closeables';
import { fmt, parseRedisInfo } from './bench-support';

const LOOKUP_PATH = '/v1/patients/lookup';
const LOOKUP_SCOPES: readonly Scope[] = ['patients:read'];

/** A real Redis connection that counts the commands sent on it: a warm cache must send none. */
class CountingRedis extends Redis {
  sent = 0;

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    this.sent++;
    return super.sendCommand(...args);
  }
}

export interface CallCost {
  readonly calls: number;
  /** CPU of this process per call, µs. */
  readonly cpuUs: number;
  /** Elapsed per call, µs (round trips included). */
  readonly wallUs: number;
  /** Redis commands the registry sent per call. */
  readonly redisCommands: number;
  /** Redis's own CPU per call, µs (INFO cpu; the idle gateway's few commands included). */
  readonly redisCpuUs: number | undefined;
}

export interface CredentialCost {
  readonly label: string;
  /** The summary's short name. */
  readonly short: string;
  readonly warm: CallCost;
  readonly cold: CallCost;
}

export interface AuthCostResults {
  readonly rows: readonly CredentialCost[];
  /** The middleware's calls per credential, warm. */
  readonly calls: number;
}

export interface AuthCostOptions {
  /** The configuration the gateway processes read (same env): prefix, tenants, issuer, data dir. */
  readonly config: Config;
  readonly redisUrl: string;
  readonly gatewayUrl: string;
  /** The benchmark client: its key, presented four ways. */
  readonly client: ClientInfo;
  readonly key: string;
  /** Warm calls measured per credential (after as many again, capped at 2000, to warm up). */
  readonly calls: number;
  /** Fresh clients per credential for the cold figure. */
  readonly coldCalls: number;
}

interface Presentation {
  readonly label: string;
  readonly short: string;
  readonly method: AuthMethod;
  headers(client: ClientInfo, key: string, token: string): Readonly<Record<string, string>>;
}

const PRESENTATIONS: readonly Presentation[] = [
  {
    label: 'API key, Authorization: Bearer',
    short: 'API key (Bearer)',
    method: 'api-key',
    headers: (_c, key) => ({ authorization: `Bearer ${key}` }),
  },
  {
    label: 'API key, X-API-Key',
    short: 'X-API-Key',
    method: 'api-key',
    headers: (_c, key) => ({ 'x-api-key': key }),
  },
  {
    label: 'Basic client id + key',
    short: 'Basic',
    method: 'basic',
    headers: (client, key) => ({
      authorization: `Basic ${Buffer.from(`${client.id}:${key}`).toString('base64')}`,
    }),
  },
  {
    label: 'OAuth access token (ES256 JWT)',
    short: 'OAuth JWT (ES256)',
    method: 'oauth-token',
    headers: (_c, _key, token) => ({ authorization: `Bearer ${token}` }),
  },
];

/**
 * One request through the access-control middleware, with the least of express that it touches:
 * the method, path and headers of the request, `locals` (the request's logger, as requestContext
 * leaves it) and, should it refuse, the calls sendProblem makes. Resolves with the caller it
 * admitted; a refusal rejects.
 */
function throughAccessControl(
  handler: RequestHandler,
  requestLogger: Logger,
  headers: Readonly<Record<string, string>>,
): Promise<Principal> {
  return new Promise((resolve, reject) => {
    const locals: Record<string, unknown> = { logger: requestLogger, requestId: 'bench-auth' };
    const req = {
      method: 'GET',
      path: LOOKUP_PATH,
      get: (name: string): string | undefined => headers[name.toLowerCase()],
    };
    const res = {
      locals,
      req,
      setHeader() {
        return this;
      },
      status() {
        return this;
      },
      type() {
        return this;
      },
      send(body: string) {
        reject(new Error(`access control refused the request: ${body.slice(0, 200)}`));
        return this;
      },
    };
    const next: NextFunction = (error?: unknown) => {
      if (error !== undefined) {
        reject(error instanceof Error ? error : new Error('access control passed on a non-Error'));
        return;
      }
      resolve((locals.caller as Caller).principal);
    };
    void handler(req as unknown as Request, res as unknown as Response, next);
  });
}

async function redisCpuSeconds(redis: Redis): Promise<number | undefined> {
  const info = parseRedisInfo(await redis.info('cpu'));
  const user = info.used_cpu_user;
  const sys = info.used_cpu_sys;
  return user === undefined || sys === undefined ? undefined : user + sys;
}

/** `calls` calls one after another: CPU of this process and of Redis, elapsed, Redis commands. */
async function measure(
  redis: CountingRedis,
  calls: number,
  call: (i: number) => Promise<unknown>,
): Promise<CallCost> {
  const redisBefore = await redisCpuSeconds(redis);
  const sent = redis.sent;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) await call(i);
  const elapsedUs = Number(process.hrtime.bigint() - started) / 1e3;
  const used = process.cpuUsage(cpu);
  const commands = redis.sent - sent;
  const redisAfter = await redisCpuSeconds(redis);
  return {
    calls,
    cpuUs: (used.user + used.system) / calls,
    wallUs: elapsedUs / calls,
    redisCommands: commands / calls,
    redisCpuUs:
      redisBefore === undefined || redisAfter === undefined
        ? undefined
        : ((redisAfter - redisBefore) * 1e6) / calls,
  };
}

/** An access token from the gateway's token endpoint, as a client gets one (Basic client credentials). */
async function fetchToken(gatewayUrl: string, client: ClientInfo, key: string): Promise<string> {
  const res = await fetch(`${gatewayUrl}/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${client.id}:${key}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: LOOKUP_SCOPES.join(' '),
    }).toString(),
  });
  const body = (await res.json()) as { access_token?: unknown };
  if (res.status !== 200 || typeof body.access_token !== 'string') {
    throw new Error(`POST /oauth/token answered ${res.status}`);
  }
  return body.access_token;
}

export async function benchAuthCost(options: AuthCostOptions): Promise<AuthCostResults> {
  const { config } = options;
  // Warnings only, to stderr: the figures go to stdout.
  const logger = createLogger({ level: 'warn', destination: process.stderr });
  const closeables = new Closeables(logger);
  const redis = new CountingRedis(options.redisUrl, {
    maxRetriesPerRequest: 2,
    connectionName: 'bench-auth-cost',
  });
  try {
    const access = await buildAccess(
      config,
      { client: redis, prefix: `{${config.redis.keyPrefix}}` },
      logger,
      closeables,
    );
    const { registry, tokens, tenants, builtIn } = access;
    const handler = accessControl({
      routes: routeMatcher(),
      tenants,
      authenticate: (credential) => authenticateCredential({ registry, tokens, builtIn }, credential),
    });
    // What requestContext leaves on every request: a child of the root logger.
    const requestLogger = logger.child({ requestId: 'bench-auth' });
    const token = await fetchToken(options.gatewayUrl, options.client, options.key);

    // Fresh clients for the cold figures, per credential: a few to warm the cold path up (not
    // measured), then `coldCalls` measured; tokens signed as the gateway signs them. All are made
    // before anything is measured, so that the change message each one publishes is handled by
    // then, not during a measurement.
    const coldWarmup = Math.min(100, options.coldCalls);
    const coldHeaders: Readonly<Record<string, string>>[][] = [];
    for (const [index, presentation] of PRESENTATIONS.entries()) {
      const batch: Readonly<Record<string, string>>[] = [];
      for (let i = 0; i < coldWarmup + options.coldCalls; i++) {
        const { client, key } = await registry.create({
          name: `bench-auth-${index}-${i}`,
          tenant: options.client.tenant,
          scopes: LOOKUP_SCOPES,
        });
        const issued =
          presentation.method === 'oauth-token'
            ? (await tokens.issue(client, LOOKUP_SCOPES)).accessToken
            : '';
        batch.push(presentation.headers(client, key, issued));
      }
      coldHeaders.push(batch);
    }

    const rows: CredentialCost[] = [];
    for (const [index, presentation] of PRESENTATIONS.entries()) {
      const headers = presentation.headers(options.client, options.key, token);
      // The path measured is the one named: the caller must come out with this method.
      const first = await throughAccessControl(handler, requestLogger, headers);
      if (first.method !== presentation.method || !first.scopes.has('patients:read')) {
        throw new Error(`${presentation.label}: admitted as ${first.method}, not ${presentation.method}`);
      }
      const warmup = Math.min(2000, options.calls);
      for (let i = 0; i < warmup; i++) await throughAccessControl(handler, requestLogger, headers);
      const warm = await measure(redis, options.calls, () =>
        throughAccessControl(handler, requestLogger, headers),
      );

      const fresh = coldHeaders[index] ?? [];
      for (let i = 0; i < coldWarmup; i++) await throughAccessControl(handler, requestLogger, fresh[i] ?? {});
      const cold = await measure(redis, options.coldCalls, (i) =>
        throughAccessControl(handler, requestLogger, fresh[coldWarmup + i] ?? {}),
      );
      rows.push({ label: presentation.label, short: presentation.short, warm, cold });
    }
    return { rows, calls: options.calls };
  } finally {
    await closeables.closeAll();
    redis.disconnect();
  }
}

/** The share of a lookup's CPU that authentication takes, or undefined without /proc. */
export function authShare(cost: CallCost, lookupCpuUs: number | undefined): number | undefined {
  return lookupCpuUs === undefined || lookupCpuUs <= 0 ? undefined : cost.cpuUs / lookupCpuUs;
}

export function reportAuthCost(r: AuthCostResults, lookupCpuUs: number | undefined): string {
  const pct = (share: number | undefined): string =>
    share === undefined ? 'n/a' : `${fmt(share * 100, 1)}%`;
  const redisCpu = (c: CallCost): string =>
    c.redisCpuUs === undefined ? 'n/a' : `${fmt(c.redisCpuUs, 0)} µs`;
  const header = [
    'credential',
    'warm CPU/call',
    '/ lookup',
    'Redis cmds',
    'cold CPU/call',
    '/ lookup',
    'Redis CPU',
    'Redis cmds',
    'cold elapsed',
  ];
  const cells = r.rows.map((row) => [
    row.label,
    `${fmt(row.warm.cpuUs, 1)} µs`,
    pct(authShare(row.warm, lookupCpuUs)),
    fmt(row.warm.redisCommands),
    `${fmt(row.cold.cpuUs, 1)} µs`,
    pct(authShare(row.cold, lookupCpuUs)),
    redisCpu(row.cold),
    fmt(row.cold.redisCommands),
    `${fmt(row.cold.wallUs, 0)} µs`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => (row[c] ?? '').length)));
  const line = (row: readonly string[]): string =>
    `  ${row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0))).join('  ')}`;
  const coldCalls = r.rows[0]?.cold.calls ?? 0;
  return [
    `authentication per request vs a lookup's CPU: the access-control middleware in this process, ${r.calls} calls per credential warm, ${coldCalls} fresh clients per credential cold`,
    `  a lookup (API process CPU per GET ${LOOKUP_PATH} in the lookup run above, authentication included): ${lookupCpuUs === undefined ? 'n/a (no /proc)' : `${fmt(lookupCpuUs, 0)} µs`}`,
    line(header),
    ...cells.map(line),
    "  warm: answered from the registry's memory (no Redis command); cold: the first request with a key in a process (its hash, then the client record), or with a token (the record)",
  ].join('\n');
}
