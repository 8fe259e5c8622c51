/**
 * The fault suite's rig: every process a scenario needs, started from the built CLI and stopped by
 * its own PID. A private redis-server with AOF `everysec` (restartable on the same port and
 * directory), the sandbox EHR as its own process (`continuum sandbox`), and gateways in any role
 * (`continuum start --role ...`) that share a config file pointing at both. Plus the checker: what
 * the EHR's own `_history` says happened to the writes Continuum accepted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { stringify } from 'yaml';
import { CLI, freePort } from './child-gateway';
import { readAdminKey, useCredential } from './credentials';
import { emailOf, history } from './pipeline';
import { auditedVersion, auditHistories, type Audit, type AuditedVersion } from './history-audit';
import { http, type JsonResponse } from './http';
import { redisAnswers } from './redis-server';
import { waitFor } from './wait-for';

export type { Audit } from './history-audit';

const OUTPUT_LIMIT = 2_000_000;

/** A child process of this test run: signalled by its PID only, its output kept for failure messages. */
export class OwnedProcess {
  readonly pid: number;
  readonly exited: Promise<number | null>;
  private text = '';

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`${name} did not start`);
    this.pid = child.pid;
    const keep = (d: Buffer): void => {
      this.text += d.toString('utf8');
      if (this.text.length > OUTPUT_LIMIT) this.text = this.text.slice(-OUTPUT_LIMIT / 2);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    live.add(this);
    void this.exited.then(() => live.delete(this));
  }

  output(): string {
    return this.text;
  }

  running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal` to this PID and waits (bounded) for the exit. */
  async signal(signal: NodeJS.Signals, timeoutMs = 15000): Promise<void> {
    if (!this.running()) return;
    process.kill(this.pid, signal);
    await this.exitWithin(timeoutMs);
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 15000): Promise<void> {
    if (!this.running()) return;
    process.kill(this.pid, 'SIGTERM');
    if (await this.exitWithin(graceMs)) return;
    if (this.running()) process.kill(this.pid, 'SIGKILL');
    await this.exitWithin(5000);
  }

  private async exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.exited.then(() => true as const), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Processes still running; killed by PID if the test runner exits without cleaning up. */
const live = new Set<OwnedProcess>();
process.once('exit', () => {
  for (const owned of live) {
    if (owned.running()) {
      try {
        process.kill(owned.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

function spawnOwned(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new OwnedProcess(name, child);
}

// ---------------------------------------------------------------------------------------------
// HTTP

export type Answer<T = any> = JsonResponse<T>;

/** Requests from the scenarios: the tests' own helper, with a 15 s deadline unless given another. */
export function call<T = any>(
  method: string,
  url: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer<T>> {
  return http<T>(method, url, { ...options, timeoutMs: options.timeoutMs ?? 15000 });
}

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of the results. */
export async function mapLimit<I, O>(items: readonly I[], limit: number, work: (item: I) => Promise<O>) {
  const out: O[] = new Array<O>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        out[index] = await work(items[index]!);
      }
    }),
  );
  return out;
}

// ---------------------------------------------------------------------------------------------
// Processes: Redis, sandbox EHR, gateways

/** A private redis-server with AOF everysec and noeviction, restartable on the same port and directory. */
export class AofRedis {
  private current: OwnedProcess | undefined;

  constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get process(): OwnedProcess | undefined {
    return this.current;
  }

  async start(): Promise<void> {
    if (this.current?.running()) throw new Error('redis-server is already running');
    const proc = spawnOwned(
      `redis-server:${this.port}`,
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'everysec',
        '--save',
        '',
        '--maxmemory-policy',
        'noeviction',
      ],
      { PATH: process.env.PATH },
      this.dir,
    );
    this.current = proc;
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error(`redis-server exited:\n${proc.output()}`);
        return (await redisAnswers(this.port)) ? true : undefined;
      },
      { timeoutMs: 20000, intervalMs: 50, what: `redis-server on port ${this.port}` },
    );
  }

  /** `kill -9` by PID: no shutdown, no final fsync, exactly as a crash. */
  async crash(): Promise<void> {
    await this.current?.signal('SIGKILL');
  }

  async stop(): Promise<void> {
    await this.current?.stop(10000);
  }
}

/**
 * A TCP proxy on loopback that delays every byte a client sends by `latencyMs` (order kept): a Redis
 * that answers, but slowly, as under a long fsync or a saturated network. The latency can change
 * while connections are open.
 */
export class LatencyProxy {
  private constructor(
    private readonly server: Server,
    private readonly sockets: Set<Socket>,
    private readonly state: { latencyMs: number },
    readonly port: number,
  ) {}

  static async start(targetPort: number, latencyMs: number): Promise<LatencyProxy> {
    const sockets = new Set<Socket>();
    const state = { latencyMs };
    const server = createServer((client) => {
      const upstream = connect(targetPort, '127.0.0.1');
      sockets.add(client).add(upstream);
      let due = 0;
      client.on('data', (chunk: Buffer) => {
        due = Math.max(Date.now() + state.latencyMs, due);
        setTimeout(() => {
          if (!upstream.destroyed) upstream.write(chunk);
        }, due - Date.now());
      });
      upstream.on('data', (chunk: Buffer) => {
        if (!client.destroyed) client.write(chunk);
      });
      const close = (): void => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      for (const socket of [client, upstream]) {
        socket.on('close', close);
        socket.on('error', close);
      }
    });
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
    return new LatencyProxy(server, sockets, state, port);
  }

  setLatency(ms: number): void {
    this.state.latencyMs = ms;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface SandboxProcess {
  readonly origin: string;
  readonly fhirBase: string;
  readonly process: OwnedProcess;
  setFaults(mode: Record<string, unknown>): Promise<any>;
  faults(): Promise<any>;
}

export type Role = 'all' | 'api' | 'worker';

export interface GatewayProcess {
  readonly role: Role;
  readonly url: string;
  readonly process: OwnedProcess;
}

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value !== null &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current !== null &&
      typeof current === 'object' &&
      !Array.isArray(current)
        ? deepMerge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

/** The connection every scenario's gateways use; also the BullMQ queue's suffix (`writes-sandbox`). */
export const CONNECTION = 'sandbox';

/**
 * Everything one scenario starts. `close()` stops it all (gateways, sandbox, Redis, in that order),
 * deletes the scenario's keys and removes its temporary directory.
 */
export class FaultRig {
  readonly workdir: string;
  /** Unique per scenario run: the Redis key prefix (hash-tagged by the gateway). */
  readonly prefix: string;
  readonly encryptionKey = randomBytes(32).toString('base64');
  private readonly redises: AofRedis[] = [];
  private readonly sandboxes: SandboxProcess[] = [];
  private readonly gateways: GatewayProcess[] = [];
  /** The admin key the first gateway on the rig's Redis wrote; every request presents it. */
  private adminKey: string | undefined;
  private readonly clients: Redis[] = [];
  private readonly proxies: LatencyProxy[] = [];
  private configCount = 0;

  constructor(readonly scenario: string) {
    this.workdir = mkdtempSync(join(tmpdir(), `continuum-fault-${scenario}-`));
    this.prefix = `fault-${scenario}-${randomUUID().slice(0, 8)}`;
  }

  async redis(): Promise<AofRedis> {
    const dir = join(this.workdir, `redis-${this.redises.length}`);
    mkdirSync(dir);
    const redis = new AofRedis(await freePort(), dir);
    this.redises.push(redis);
    await redis.start();
    return redis;
  }

  async sandbox(
    options: {
      patients?: number;
      /** More `continuum sandbox` flags (its OAuth mode, say). */
      args?: readonly string[];
    } = {},
  ): Promise<SandboxProcess> {
    const port = await freePort();
    const proc = spawnOwned(
      'sandbox',
      process.execPath,
      [
        CLI,
        'sandbox',
        '--port',
        String(port),
        '--patients',
        String(options.patients ?? 120),
        ...(options.args ?? []),
      ],
      { PATH: process.env.PATH, HOME: process.env.HOME },
      this.workdir,
    );
    const origin = `http://127.0.0.1:${port}`;
    const admin = `${origin}/sandbox/admin/faults`;
    const sandbox: SandboxProcess = {
      origin,
      fhirBase: `${origin}/sandbox/fhir`,
      process: proc,
      async setFaults(mode) {
        const res = await call('POST', admin, { body: mode });
        if (res.status >= 300) throw new Error(`fault switch refused ${JSON.stringify(mode)}: ${res.status}`);
        return res.body;
      },
      async faults() {
        return (await call('GET', admin)).body;
      },
    };
    this.sandboxes.push(sandbox);
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error(`sandbox exited:\n${proc.output()}`);
        const res = await call('GET', `${sandbox.fhirBase}/metadata`, { timeoutMs: 2000 }).catch(
          () => undefined,
        );
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 60000, intervalMs: 100, what: 'the sandbox EHR to answer' },
    );
    return sandbox;
  }

  /**
   * A gateway child process. Every gateway of a rig shares the Redis, the key prefix, the encryption
   * key (through `encryption.key: ${CONTINUUM_ENCRYPTION_KEY}` in its config file) and the EHR.
   */
  async gateway(options: {
    role: Role;
    redis: AofRedis;
    sandbox: SandboxProcess;
    config?: Record<string, unknown>;
    /** Reach Redis another way (through a fault proxy); default `redis.url`. */
    redisUrl?: string;
    /** A port chosen beforehand (an EHR registered this gateway's JWKS URL); default a free one. */
    port?: number;
    /**
     * A data directory shared with other gateways of the rig, as a shared volume is: processes
     * that sign for the same EHR client need the same keys. Default: one of its own.
     */
    dataDir?: string;
  }): Promise<GatewayProcess> {
    const port = options.port ?? (await freePort());
    const name = `gateway-${options.role}-${++this.configCount}`;
    const dataDir = options.dataDir ?? join(this.workdir, `data-${name}`);
    const base: Record<string, unknown> = {
      server: { host: '127.0.0.1', shutdownGraceMs: 5000 },
      redis: { keyPrefix: this.prefix, requireDurability: true },
      sandbox: { enabled: false },
      connections: {
        [CONNECTION]: {
          baseUrl: options.sandbox.fhirBase,
          // A sandbox in its own process: its profile writes the sandbox's MRN system.
          sandboxEhr: true,
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 3, probeIntervalMs: 500 },
        },
      },
      queue: { sweepIntervalMs: 1000 },
      // The scenarios count what reaches the EHR; a background warm-up would add reads of its own.
      cache: { warmup: { enabled: false } },
      encryption: { key: '${CONTINUUM_ENCRYPTION_KEY}' },
      logging: { level: 'info' },
    };
    const configFile = join(this.workdir, `${name}.yaml`);
    writeFileSync(configFile, stringify(deepMerge(base, options.config ?? {})));
    const proc = spawnOwned(
      name,
      process.execPath,
      [CLI, 'start', '--role', options.role],
      {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        CONTINUUM_CONFIG: configFile,
        CONTINUUM_ENCRYPTION_KEY: this.encryptionKey,
        CONTINUUM_DATA_DIR: dataDir,
        REDIS_URL: options.redisUrl ?? options.redis.url,
        PORT: String(port),
      },
      this.workdir,
    );
    const gateway: GatewayProcess = { role: options.role, url: `http://127.0.0.1:${port}`, process: proc };
    this.gateways.push(gateway);
    await waitFor(
      async () => {
        if (!proc.running()) throw new Error(`${name} exited early:\n${proc.output()}`);
        const res = await call('GET', `${gateway.url}/readyz`, { timeoutMs: 3000 }).catch(() => undefined);
        return res?.status === 200 ? true : undefined;
      },
      { timeoutMs: 60000, intervalMs: 100, what: `${name} to be ready` },
    );
    // The first gateway on this Redis created the admin client; every gateway accepts its key.
    const keyFile = join(dataDir, 'admin.key');
    if (existsSync(keyFile)) this.adminKey = readAdminKey(dataDir);
    if (this.adminKey === undefined) throw new Error(`${name}: no admin key was written on this Redis`);
    useCredential(gateway.url, this.adminKey);
    return gateway;
  }

  /** A latency proxy in front of the rig's Redis; closed by `close()` after the gateways stop. */
  async latencyProxy(redis: AofRedis, latencyMs: number): Promise<LatencyProxy> {
    const proxy = await LatencyProxy.start(redis.port, latencyMs);
    this.proxies.push(proxy);
    return proxy;
  }

  /** A direct connection to the rig's Redis, for looking at lanes and queues. Closed by `close()`. */
  redisClient(redis: AofRedis): Redis {
    const client = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    client.on('error', () => undefined);
    this.clients.push(client);
    return client;
  }

  /** The operation ids in a patient's lane, head first (the order the lane will apply them). */
  async laneOrder(client: Redis, patientId: string): Promise<string[]> {
    return client.lrange(`{${this.prefix}}:lane:${CONNECTION}/Patient/${patientId}`, 0, -1);
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (work: () => Promise<unknown>): Promise<void> => {
      await work().catch((error: unknown) => errors.push(error));
    };
    for (const gateway of [...this.gateways].reverse()) await attempt(() => gateway.process.stop());
    for (const sandbox of this.sandboxes) await attempt(() => sandbox.process.stop());
    for (const proxy of this.proxies) await attempt(() => proxy.close());
    for (const redis of this.redises) {
      if (redis.process?.running()) {
        await attempt(async () => {
          const client = new Redis(redis.url, { maxRetriesPerRequest: 1, lazyConnect: true });
          client.on('error', () => undefined);
          try {
            await client.connect();
            await deleteKeys(client, `{${this.prefix}}*`);
          } finally {
            client.disconnect();
          }
        });
      }
    }
    for (const client of this.clients) client.disconnect();
    for (const redis of this.redises) await attempt(() => redis.stop());
    rmSync(this.workdir, { recursive: true, force: true });
    if (errors.length > 0) throw new AggregateError(errors, `${this.scenario}: clean-up failed`);
  }
}

async function deleteKeys(client: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  for (let round = 0; round < 100000; round++) {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await client.del(...keys);
    cursor = next;
    if (cursor === '0') return;
  }
}

// ---------------------------------------------------------------------------------------------
// The pipeline, seen from outside

/** `/v1/status` for the rig's connection. */
export async function pipelineStatus(gatewayUrl: string): Promise<any> {
  const res = await call('GET', `${gatewayUrl}/v1/status`, { timeoutMs: 5000 });
  if (res.status !== 200) throw new Error(`/v1/status answered ${res.status}`);
  return res.body.connections[CONNECTION];
}

/** Waits until nothing is queued or sending, then returns every receipt. */
export async function drainedReceipts(
  gatewayUrl: string,
  operationIds: readonly string[],
  timeoutMs: number,
): Promise<any[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await waitFor(
      async () => {
        const s = await pipelineStatus(gatewayUrl);
        return s.queue.queued + s.queue.sending === 0 ? true : undefined;
      },
      {
        timeoutMs: Math.max(1000, deadline - Date.now()),
        intervalMs: 250,
        what: `${operationIds.length} operations to drain`,
      },
    );
    const receipts = await mapLimit(operationIds, 16, async (id) => {
      const res = await call('GET', `${gatewayUrl}/v1/operations/${id}`);
      if (res.status !== 200) throw new Error(`receipt ${id}: ${res.status}`);
      return res.body;
    });
    const pending = receipts.filter((r) => r.status === 'queued' || r.status === 'sending');
    if (pending.length === 0) return receipts;
    if (Date.now() > deadline) throw new Error(`${pending.length} operations never finished`);
  }
}

/** Counts by status, for readable assertion failures. */
export function statusCounts(receipts: readonly any[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of receipts) counts[r.status as string] = (counts[r.status as string] ?? 0) + 1;
  return counts;
}

// ---------------------------------------------------------------------------------------------
// The checker: accepted writes against the EHR's own history

/** A write Continuum answered 202 for; times are this process's clock (ms). */
/**
 * A backlog of email corrections: `perPatient` writes for each of `patients` patients (from
 * `firstPatient` on), sent one after another per patient and all patients at once, each with its
 * own Idempotency-Key; every one must be accepted (202). Emails are unique, so the EHR's history
 * shows which write landed.
 */
export async function acceptEmailBacklog(options: {
  readonly url: string;
  /** Makes emails and keys unique to the scenario. */
  readonly tag: string;
  readonly keyPrefix: string;
  readonly patients: number;
  readonly perPatient: number;
  readonly firstPatient: number;
}): Promise<AcceptedEmailWrite[]> {
  const accepted: AcceptedEmailWrite[] = [];
  await Promise.all(
    Array.from({ length: options.patients }, async (_v, p) => {
      const id = patientId(options.firstPatient + p);
      for (let k = 0; k < options.perPatient; k++) {
        const email = `${options.tag}-${p}-${k}@example.org`;
        const sentAt = performance.now();
        const res = await call('PATCH', `${options.url}/v1/patients/${id}`, {
          body: { email },
          headers: { 'idempotency-key': `${options.keyPrefix}-${p}-${k}` },
        });
        if (res.status !== 202) throw new Error(`write ${p}/${k} answered ${res.status}, not 202`);
        accepted.push({
          operationId: res.body.operationId,
          patientId: id,
          email,
          sentAt,
          ackAt: performance.now(),
        });
      }
    }),
  );
  return accepted;
}

export interface AcceptedEmailWrite {
  readonly operationId: string;
  readonly patientId: string;
  /** Unique per write: it identifies the write in the EHR's history. */
  readonly email: string;
  /** When the client first sent it (before any retry). */
  readonly sentAt: number;
  /** When the client got its 202. */
  readonly ackAt: number;
}

/**
 * Each patient's versions from the EHR's own `_history`, reduced to the audited field and the
 * content that tells an identical extra version apart.
 */
export async function patientHistories(
  fhirBase: string,
  patientIds: Iterable<string>,
  valueOf: (patient: any) => string | undefined,
): Promise<Map<string, AuditedVersion[]>> {
  const fetched = await mapLimit([...new Set(patientIds)], 8, async (id) => ({
    id,
    versions: (await history(fhirBase, `Patient/${id}`)).map((p) => auditedVersion(p, valueOf)),
  }));
  return new Map(fetched.map(({ id, versions }) => [id, versions]));
}

/** Accepted email corrections against the EHR's history (see `auditHistories`). */
export async function auditEmailWrites(
  fhirBase: string,
  writes: readonly AcceptedEmailWrite[],
): Promise<Audit> {
  const histories = await patientHistories(
    fhirBase,
    writes.map((w) => w.patientId),
    emailOf,
  );
  return auditHistories(
    histories,
    writes.map((w) => ({ ...w, value: w.email })),
  );
}

/** The one line each scenario prints. */
export function resultLine(
  scenario: string,
  counts: { accepted: number; lost: number; duplicated: number; outOfOrder: number },
): string {
  return `${scenario}: accepted ${counts.accepted}, lost ${counts.lost}, duplicated ${counts.duplicated}, out-of-order ${counts.outOfOrder}`;
}

export function printResult(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Waits (bounded) until a condition on this process's own state holds. */
export async function waitUntil(
  condition: () => boolean,
  options: { timeoutMs: number; what: string; intervalMs?: number },
): Promise<void> {
  await waitFor(() => Promise.resolve(condition() ? true : undefined), options);
}

export const patientId = (n: number): string => `pat-${String(n).padStart(4, '0')}`;

/** A write as a real client sends it: with its key, retried on 503 or a network error until accepted. */
export async function submitUntilAccepted(
  send: () => Promise<Answer>,
  options: { deadlineMs: number; onRefused?: (status: number, code: string | undefined) => void },
): Promise<{ answer: Answer; tries: number }> {
  const deadline = Date.now() + options.deadlineMs;
  for (let tries = 1; ; tries++) {
    let answer: Answer | undefined;
    try {
      answer = await send();
    } catch {
      options.onRefused?.(0, 'NETWORK');
    }
    if (answer !== undefined) {
      if (answer.status === 202 || answer.status === 200 || answer.status === 201) return { answer, tries };
      options.onRefused?.(answer.status, answer.body?.code as string | undefined);
      if (answer.status !== 503)
        throw new Error(`write refused for good: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    if (Date.now() > deadline) throw new Error(`write not accepted after ${tries} tries`);
    // Client back-off between tries (as Retry-After asks), not synchronisation.
    await new Promise((r) => setTimeout(r, 200));
  }
}
