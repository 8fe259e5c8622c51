/**
 * Continuum signing in to an EHR the way Epic asks, as separate processes: the sandbox EHR (its own
 * process) requires SMART Backend Services tokens and checks every client assertion against the
 * gateway's JWKS URL; an API process and two worker processes share one AOF Redis and one data
 * directory (a shared volume: the processes sign with the same keys).
 *
 * 1. A backlog drains while tokens expire every few seconds: the workers refresh ahead of expiry and
 *    share the token, so the EHR's token endpoint is asked about once per refresh interval, not once
 *    per process or per write; a key rotation in the middle keeps working through its overlap.
 * 2. The drill "the EHR revoked our credentials": writes keep being taken and wait, none fails,
 *    cached reads say they come from the cache, readiness names the connection; once the client is
 *    restored, everything drains, nothing lost, nothing twice.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import {
  acceptEmailBacklog,
  auditEmailWrites,
  call,
  CONNECTION,
  drainedReceipts,
  FaultRig,
  patientId,
  pipelineStatus,
  printResult,
  resultLine,
  statusCounts,
  type AofRedis,
  type GatewayProcess,
  type SandboxProcess,
} from '../support/fault-harness';
import { CLI, freePort } from '../support/child-gateway';
import { useCredential } from '../support/credentials';
import { spawnSync } from 'node:child_process';
import { waitFor } from '../support/wait-for';

jest.setTimeout(240_000);

const CLIENT_ID = 'continuum-drill';
const TOKEN_LIFETIME_S = 3;
/** The gateway refreshes at about 80% of a token's lifetime. */
const REFRESH_INTERVAL_S = TOKEN_LIFETIME_S * 0.8;

let rig: FaultRig;
let redis: AofRedis;
let sandbox: SandboxProcess;
let api: GatewayProcess;
let dataDir: string;

interface AuthState {
  revoked: boolean;
  counters: { tokensIssued: number; tokensRefused: number; unauthorized: number };
}

async function sandboxAuth(): Promise<AuthState> {
  const res = await call<AuthState>('GET', `${sandbox.origin}/sandbox/admin/auth`);
  if (res.status !== 200) throw new Error(`sandbox auth state: ${res.status}`);
  return res.body;
}

async function setSandboxAuth(body: Record<string, unknown>): Promise<void> {
  const res = await call('POST', `${sandbox.origin}/sandbox/admin/auth`, { body });
  if (res.status >= 300)
    throw new Error(`sandbox auth switch refused ${JSON.stringify(body)}: ${res.status}`);
}

/** The active EHR key of the shared data directory, as `continuum ehr-keys` keeps it. */
function activeKey(): { kid: string; alg: string; jwk: Record<string, unknown> } {
  const dir = join(dataDir, 'keys', 'ehr');
  const records = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')))
    .filter((r) => r.supersededAt === undefined)
    .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1));
  const newest = records[0];
  if (newest === undefined) throw new Error('no EHR key in the shared data directory');
  return newest;
}

/**
 * A token for the checks that read the EHR directly (its `_history`), obtained as the gateway's
 * registered client: an operator holding the key could do the same.
 */
async function ehrReaderToken(): Promise<string> {
  const key = activeKey();
  const tokenUrl = `${sandbox.origin}/sandbox/auth/token`;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setIssuer(CLIENT_ID)
    .setSubject(CLIENT_ID)
    .setAudience(tokenUrl)
    .setIssuedAt(now)
    .setExpirationTime(now + 240)
    .setJti(randomUUID())
    .sign(await importJWK(key.jwk, key.alg));
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'client_credentials',
      scope: 'system/Patient.rs',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion,
    }),
  });
  const body = (await res.json()) as { access_token?: string };
  if (res.status !== 200 || body.access_token === undefined) throw new Error(`token: ${res.status}`);
  return body.access_token;
}

async function auditDirectly(writes: Parameters<typeof auditEmailWrites>[1]) {
  useCredential(sandbox.origin, await ehrReaderToken());
  return auditEmailWrites(sandbox.fhirBase, writes);
}

function gatewayConfig(): Record<string, unknown> {
  return {
    connections: {
      [CONNECTION]: {
        auth: {
          type: 'smart-backend',
          clientId: CLIENT_ID,
          scopes: ['system/Patient.cruds', 'system/Appointment.cruds', 'system/Slot.rs'],
        },
        credentialsProbeIntervalMs: 500,
        // The drain rate cap (shared by the workers through Redis) makes a 200-write drain last about
        // 10 s however fast the machine is: several token lifetimes.
        maxWritesPerSecond: 20,
      },
    },
  };
}

async function worker(): Promise<GatewayProcess> {
  return rig.gateway({ role: 'worker', redis, sandbox, dataDir, config: gatewayConfig() });
}

beforeAll(async () => {
  rig = new FaultRig('smart-backend');
  dataDir = join(rig.workdir, 'data-shared');
  redis = await rig.redis();
  const apiPort = await freePort();
  sandbox = await rig.sandbox({
    args: [
      '--auth-mode',
      'smart-backend',
      '--client-id',
      CLIENT_ID,
      '--jwks-url',
      `http://127.0.0.1:${apiPort}/.well-known/jwks.json`,
      '--token-lifetime',
      String(TOKEN_LIFETIME_S),
    ],
  });
  api = await rig.gateway({ role: 'api', redis, sandbox, dataDir, port: apiPort, config: gatewayConfig() });
});

afterAll(async () => {
  await rig.close();
});

it('drains a backlog with two workers while tokens expire, asking the token endpoint about once per refresh, through a key rotation', async () => {
  const patients = 20;
  const perPatient = 10;
  const total = patients * perPatient;
  const accepted = await acceptEmailBacklog({
    url: api.url,
    tag: 'smart',
    keyPrefix: `${rig.prefix}-smart`,
    patients,
    perPatient,
    firstPatient: 10,
  });
  expect((await pipelineStatus(api.url)).queue.queued).toBe(total);

  // Some EHR latency, so that writes are in flight when tokens expire and are renewed.
  await sandbox.setFaults({ mode: 'slow', latencyMs: 20 });
  const before = await sandboxAuth();
  await worker();
  // From the first worker's start: the time a process takes to start is not drain time.
  const startedAt = Date.now();
  await worker();

  // Mid-drain, the operator rotates the key; the EHR then drops the tokens it issued, so the next
  // assertions must be signed with the new key while the old one is still published.
  await waitFor(
    async () => {
      const s = await pipelineStatus(api.url);
      return s.queue.queued + s.queue.sending <= total * 0.6 ? true : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 100, what: 'the drain to be under way' },
  );
  const oldKid = activeKey().kid;
  const rotate = spawnSync(process.execPath, [CLI, 'ehr-keys', 'rotate'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, CONTINUUM_DATA_DIR: dataDir },
    encoding: 'utf8',
  });
  expect(rotate.status).toBe(0);
  const newKid = activeKey().kid;
  expect(newKid).not.toBe(oldKid);
  const jwks = await waitFor(
    async () => {
      const res = await call<{ keys: { kid: string }[] }>('GET', `${api.url}/.well-known/jwks.json`);
      const kids = res.body.keys.map((k) => k.kid);
      return kids.includes(newKid) ? kids : undefined;
    },
    { timeoutMs: 10_000, intervalMs: 100, what: 'the new key in the JWKS' },
  );
  expect(jwks).toContain(oldKid);
  await setSandboxAuth({ invalidateTokens: true });

  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    150_000,
  );
  const drainSeconds = (Date.now() - startedAt) / 1000;
  const after = await sandboxAuth();
  const issued = after.counters.tokensIssued - before.counters.tokensIssued;
  const refused = after.counters.tokensRefused - before.counters.tokensRefused;

  await sandbox.setFaults({ mode: 'up' });
  const audit = await auditDirectly(accepted);
  // No stampede: about one token per refresh interval for all three processes, plus the one the
  // invalidation forced and a small constant for start-up and the edges of the interval.
  const bound = Math.ceil(drainSeconds / REFRESH_INTERVAL_S) + 4;
  // No token outlives its lifetime: a drain this long cannot have run on fewer new tokens (the one
  // held when it began may have covered up to one lifetime of it).
  const needed = Math.ceil(drainSeconds / TOKEN_LIFETIME_S) - 1;
  printResult(
    `${resultLine('smart-backend drain, 2 workers, 3 s tokens, key rotated mid-drain', audit)}; drain ${drainSeconds.toFixed(1)} s, token requests ${issued} (at least ${needed}, at most ${bound}), refused ${refused}, ${JSON.stringify(statusCounts(receipts))}`,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: total });
  // The drain outlasted several tokens, so they were renewed mid-drain; no assertion was refused
  // (the sandbox checks signature, kid, alg, iss = sub, aud, exp and jti on every one).
  expect(drainSeconds).toBeGreaterThan(2 * TOKEN_LIFETIME_S);
  expect(refused).toBe(0);
  expect(issued).toBeGreaterThanOrEqual(needed);
  expect(issued).toBeLessThanOrEqual(bound);
  expect(audit).toEqual({ accepted: total, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});

it('revocation drill: writes wait and none fails, cached reads say so, readiness names the connection; restored, all drains once', async () => {
  const cachedPatient = patientId(60);
  const fresh = await call('GET', `${api.url}/v1/patients/${cachedPatient}`);
  expect(fresh.status).toBe(200);

  await setSandboxAuth({ revoked: true });
  const total = 200;
  const accepted = await acceptEmailBacklog({
    url: api.url,
    tag: 'revoked',
    keyPrefix: `${rig.prefix}-revoked`,
    patients: 20,
    perPatient: 10,
    firstPatient: 40,
  });
  expect(accepted).toHaveLength(total);

  const ready = await waitFor(
    async () => {
      const res = await call('GET', `${api.url}/readyz`);
      return res.body.degradedConnections?.includes(CONNECTION) ? res : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'readiness to name the refused connection' },
  );
  expect(ready.status).toBe(200);
  expect(ready.body.connections[CONNECTION]).toMatchObject({ state: 'credentials-rejected', degraded: true });

  // Several periodic probes go by, refused, while the writes wait.
  const firstProbe = (await pipelineStatus(api.url)).credentials.lastProbeAt as string | undefined;
  await waitFor(
    async () => {
      const s = await pipelineStatus(api.url);
      return s.credentials.lastProbeAt !== undefined && s.credentials.lastProbeAt !== firstProbe
        ? true
        : undefined;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'a refused credentials probe' },
  );
  const waiting = await Promise.all(
    accepted.map(async (w) => (await call('GET', `${api.url}/v1/operations/${w.operationId}`)).body),
  );
  expect(waiting.filter((r) => r.status === 'failed')).toEqual([]);
  expect(statusCounts(waiting)).toEqual({ queued: total });
  const status = await pipelineStatus(api.url);
  expect(status.state).toBe('credentials-rejected');
  expect(status.queue.failed).toBe(0);

  const cached = await call('GET', `${api.url}/v1/patients/${cachedPatient}`);
  expect(cached.status).toBe(200);
  expect(cached.body.freshness).toMatchObject({ source: 'cache' });

  await setSandboxAuth({ revoked: false });
  const receipts = await drainedReceipts(
    api.url,
    accepted.map((w) => w.operationId),
    150_000,
  );
  expect(statusCounts(receipts)).toEqual({ succeeded: total });
  // Waiting on a refused credential spent no attempt: each write was sent once, when it could land.
  expect(receipts.filter((r) => r.attempts !== 1).map((r) => r.attempts)).toEqual([]);
  const recovered = await call('GET', `${api.url}/readyz`);
  expect(recovered.body.degradedConnections).toEqual([]);

  const audit = await auditDirectly(accepted);
  printResult(`${resultLine('revocation drill, 200 writes queued while revoked', audit)}; failed 0`);
  expect(audit).toEqual({ accepted: total, lost: 0, duplicated: 0, outOfOrder: 0, stale: 0, evidence: [] });
});
