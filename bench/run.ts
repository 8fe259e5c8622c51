/**
 * `npm run bench`: starts its own Redis (AOF everysec, noeviction), the sandbox EHR and the gateway
 * as separate processes on loopback, runs each benchmark, prints ratios measured in this one run
 * (absolute numbers move with the machine's load; ratios are what to compare), a summary of every
 * ratio against its goal, and stops them all. It reports and never gates: a missed goal does not
 * change the exit code.
 *
 * Processes: redis-server; `continuum sandbox`; an API gateway (`--role api`, so no worker sends
 * EHR writes while acceptance is measured); a worker gateway (`--role worker`) only while a
 * backlog drains, and briefly after the cached lookup so that its breaker probe can close the
 * breaker the outage opened. The gateway checks a credential on every route but its probes: once
 * the API is ready, a client with only the scopes the workload needs is registered in its client
 * registry (bench-client.ts) and every request to the gateway presents that client's key.
 *
 * Order: lookup (direct search, the gateway, then the gateway with the sandbox down, answered from
 * the continuity cache); authentication per request against the lookup's CPU (in this process,
 * auth-cost.bench.ts); write acceptance baselines (raw `Queue.add`, the existence read alone, the
 * API with the EHR failing fast); the warm-up writes drained; the backlog accepted through the API
 * (the acceptance measurement, with Redis memory before and after); the same writes straight to
 * the sandbox; the backlog drained by the worker.
 *
 * Bounded: fixed counts and deadlines everywhere. BENCH_CONCURRENCY (50), BENCH_REQUESTS (lookup,
 * 5000), BENCH_BACKLOG (10000), BENCH_ADDS (20000), BENCH_DRAIN_DEADLINE_S (300),
 * BENCH_AUTH_CALLS (20000 warm calls per credential), BENCH_AUTH_COLD (500 fresh clients per
 * credential) and BENCH_WORKER_CONCURRENCY (bench.config.yaml's queue.concurrency, 16) tune it.
 * BENCH_CPU_PROF_DIR makes the API and worker processes write V8 CPU profiles there (slower; for
 * finding where time goes, not for the figures): `node dist/bench/profile-summary.js <file>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load-config';
import { createLogger } from '../src/observability/logger';
import { projectRoot } from '../src/project-root';
import { authShare, benchAuthCost, reportAuthCost } from './auth-cost.bench';
import { directSandboxWrites, measureDrain, reportDrain } from './backlog-drain.bench';
import { checkAccessControl, registerBenchClient } from './bench-client';
import {
  createHttpClient,
  fmt,
  formatGoals,
  freePort,
  sandboxRequestsSeen,
  setSandboxFaults,
  startProcess,
  startRedisWithAof,
  waitForHttp,
  type GoalRow,
  type HttpClient,
  type Proc,
} from './bench-support';
import { benchCachedLookup, benchLookup, reportLookup } from './lookup.bench';
import { redisMemoryResult, redisMemorySnapshot, reportRedisMemory, sampleKeys } from './redis-memory.bench';
import {
  patchLoad,
  rawAddLoad,
  reportAcceptance,
  sandboxReadLoad,
  type AcceptanceResults,
  type MeasuredLoad,
} from './write-acceptance.bench';
import { writeBody } from './write-workload';
import { benchAuditMemory, reportAuditMemory } from './audit-memory.bench';
import { benchTrustOverhead, reportTrustOverhead, trustRatios } from './trust-overhead.bench';

/** A positive integer from the environment, or the default. */
function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

/** Offsets keep each phase's writes (and so their bodies and Idempotency-Keys) apart. */
const OFFSET = {
  backlog: 0,
  direct: 3_000_000,
  warmup: 5_000_000,
  ehr503: 6_000_000,
  bare: 7_000_000,
  trust: 8_000_000,
} as const;
const CONNECTION = 'sandbox';

async function main(): Promise<void> {
  const started = Date.now();
  const concurrency = envCount('BENCH_CONCURRENCY', 50);
  const requests = envCount('BENCH_REQUESTS', 5000);
  const backlog = envCount('BENCH_BACKLOG', 10000);
  const adds = envCount('BENCH_ADDS', 20000);
  const drainDeadlineMs = envCount('BENCH_DRAIN_DEADLINE_S', 300) * 1000;
  const authCalls = envCount('BENCH_AUTH_CALLS', 20000);
  const authColdCalls = envCount('BENCH_AUTH_COLD', 500);
  const root = projectRoot();
  const cli = join(root, 'dist', 'src', 'cli', 'continuum.js');
  const configFile = join(root, 'bench', 'bench.config.yaml');
  // The worker's concurrency as the gateway will read it, for the direct baseline.
  const workerConcurrency = loadConfig({
    env: { ...process.env, CONTINUUM_CONFIG: configFile, BENCH_SANDBOX_URL: 'http://127.0.0.1:1/fhir' },
    builtInMappingsDir: join(root, 'mappings'),
  }).queue.concurrency;

  const procs: Proc[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-bench-'));
  const stopAll = async (): Promise<void> => {
    for (const proc of procs.splice(0).reverse()) await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  const interrupted = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // Last resort if something hangs past every per-phase deadline: stop what we started.
  const watchdog = setTimeout(
    () => {
      console.error('benchmark watchdog: over 15 minutes, stopping');
      void stopAll().finally(() => process.exit(2));
    },
    15 * 60 * 1000,
  );

  // Created once the gateway is up and the benchmark client registered: it presents that client's key.
  let httpToClose: HttpClient | undefined;
  let redisClient: Redis | undefined;
  try {
    const redis = await startRedisWithAof();
    procs.push(redis);
    redisClient = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const sandboxPort = await freePort();
    const sandbox = startProcess(process.execPath, [cli, 'sandbox', '--port', String(sandboxPort)]);
    procs.push(sandbox);
    const sandboxOrigin = `http://127.0.0.1:${sandboxPort}`;
    const sandboxFhirUrl = `${sandboxOrigin}/sandbox/fhir`;
    await waitForHttp(`${sandboxFhirUrl}/metadata`);

    const gatewayEnv: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      CONTINUUM_CONFIG: configFile,
      BENCH_SANDBOX_URL: sandboxFhirUrl,
      BENCH_WORKER_CONCURRENCY: String(workerConcurrency),
      // One data dir: the API and the worker must share the generated record key.
      CONTINUUM_DATA_DIR: dataDir,
    };
    const profileDir = process.env.BENCH_CPU_PROF_DIR;
    const startGateway = async (
      role: 'api' | 'worker',
      extraEnv: NodeJS.ProcessEnv = {},
    ): Promise<Proc & { url: string }> => {
      const port = await freePort();
      // A V8 CPU profile per gateway process (read with dist/bench/profile-summary.js); it slows them.
      const profile =
        profileDir !== undefined && profileDir !== ''
          ? ['--cpu-prof', `--cpu-prof-dir=${join(resolve(profileDir), role)}`]
          : [];
      const proc = startProcess(process.execPath, [...profile, cli, 'start', '--role', role], {
        ...gatewayEnv,
        ...extraEnv,
        PORT: String(port),
      });
      procs.push(proc);
      const url = `http://127.0.0.1:${port}`;
      await waitForHttp(`${url}/readyz`);
      return { ...proc, url };
    };
    const api = await startGateway('api');
    const gatewayUrl = api.url;
    // What the gateway processes read, from the same environment: its key prefix, tenants, issuer.
    const gatewayConfig = loadConfig({ env: gatewayEnv, builtInMappingsDir: join(root, 'mappings') });
    const benchClient = await registerBenchClient({
      redis: redisClient,
      prefix: `{${gatewayConfig.redis.keyPrefix}}`,
      tenant: gatewayConfig.auth.adminTenant,
      logger: createLogger({ level: 'warn', destination: process.stderr }),
    });
    await checkAccessControl(gatewayUrl, benchClient);
    const http = createHttpClient(concurrency + 8, {
      credentials: { [gatewayUrl]: benchClient.authorization },
    });
    httpToClose = http;
    const bodyBytes = Buffer.byteLength(writeBody(OFFSET.backlog));

    console.log(
      `Continuum benchmarks (node ${process.version}); Redis with AOF everysec; sandbox, API and worker as separate processes`,
    );
    console.log(
      `  concurrency ${concurrency}, lookup requests ${requests}, backlog ${backlog}, raw adds ${adds}, worker concurrency ${workerConcurrency}`,
    );
    console.log(
      `  every request to the gateway presents the key of client ${benchClient.client.id} (scopes ${benchClient.client.scopes.join(', ')}); without one it answers 401`,
    );
    if (profileDir !== undefined && profileDir !== '') {
      console.log(`  CPU profiles of the gateway processes go to ${profileDir}: figures are slowed`);
    }

    const pids = {
      api: api.child.pid,
      sandbox: sandbox.child.pid,
      redis: redis.child.pid,
      'load generator': process.pid,
    };
    const startWorker = (): Promise<Proc> => startGateway('worker');

    // 1. Screen-pop lookup: direct search vs the gateway with the EHR up, then the gateway with the
    // sandbox down (answered from the continuity cache). The cached phase runs here, right after the
    // EHR-up lookups that filled the cache, with the same numbers and the same API process; a worker
    // is started briefly after it only so that its breaker probe can close the breaker the outage
    // opened (the API process never probes), and the run waits until the EHR answers lookups again,
    // so the write phases below start with a closed breaker and no worker, as before.
    const lookup = await benchLookup({
      gatewayUrl,
      gatewayAuthorization: benchClient.authorization,
      sandboxFhirUrl,
      concurrency,
      requests,
      pids,
      directPids: { sandbox: sandbox.child.pid, 'load generator': process.pid },
    });
    const cachedLookup = await benchCachedLookup({
      http,
      gatewayUrl,
      gatewayAuthorization: benchClient.authorization,
      sandboxOrigin,
      connection: CONNECTION,
      concurrency,
      requests,
      phones: lookup.phones,
      pids,
      startWorker,
      recoveryDeadlineMs: 30000,
    });
    console.log(reportLookup(lookup, cachedLookup, concurrency));

    // 1b. Authentication per request against that lookup's CPU (in this process; nothing else runs).
    const lookupApiCpu = lookup.cpu.gateway.api;
    const lookupCpuUs =
      lookupApiCpu === undefined ? undefined : (lookupApiCpu * 1e6) / lookup.gateway.requests;
    const authCost = await benchAuthCost({
      config: gatewayConfig,
      redisUrl: redis.url,
      gatewayUrl,
      client: benchClient.client,
      key: benchClient.key,
      calls: authCalls,
      coldCalls: authColdCalls,
    });
    console.log(reportAuthCost(authCost, lookupCpuUs));

    // 2. Write acceptance baselines, measured while only the API gateway runs.
    const warmup = await patchLoad({
      http,
      gatewayUrl,
      phase: 'warmup',
      offset: OFFSET.warmup,
      total: 500,
      concurrency,
      pids,
    });
    if (warmup.load.errors === warmup.load.requests) {
      throw new Error(`every warm-up PATCH failed: ${warmup.firstFailure ?? ''}`);
    }
    const rawAdd = await rawAddLoad({
      redisUrl: redis.url,
      total: adds,
      warmup: Math.min(2000, adds),
      concurrency,
      pids: { redis: redis.child.pid, 'load generator': process.pid },
    });
    // The yardstick: a bare express endpoint that validates and adds the job, on the same Redis.
    const barePort = await freePort();
    const bareServer = startProcess(process.execPath, [
      join(root, 'dist', 'bench', 'bare-acceptance-server.js'),
      String(barePort),
      redis.url,
    ]);
    procs.push(bareServer);
    const bareUrl = `http://127.0.0.1:${barePort}`;
    await waitForHttp(`${bareUrl}/readyz`);
    const bareLoad = (phase: string, total: number): Promise<MeasuredLoad> =>
      patchLoad({
        http,
        gatewayUrl: bareUrl,
        phase,
        offset: OFFSET.bare,
        total,
        concurrency,
        pids: {
          'bare endpoint': bareServer.child.pid,
          redis: redis.child.pid,
          'load generator': process.pid,
        },
      });
    await bareLoad('bare-warmup', 500);
    const bare = await bareLoad('bare', Math.min(backlog, 5000));
    await bareServer.stop();
    const sandboxRead = await sandboxReadLoad({
      http,
      sandboxFhirUrl,
      total: 3000,
      concurrency,
      pids: { sandbox: sandbox.child.pid, 'load generator': process.pid },
    });
    await setSandboxFaults(http, sandboxOrigin, { mode: 'down', kind: 'http503', durationMs: 120000 });
    let apiEhrFailingFast: MeasuredLoad;
    try {
      apiEhrFailingFast = await patchLoad({
        http,
        gatewayUrl,
        phase: 'ehr503',
        offset: OFFSET.ehr503,
        total: 2000,
        concurrency,
        pids,
      });
    } finally {
      await setSandboxFaults(http, sandboxOrigin, { mode: 'up' });
    }

    // 2b. The audit trail and rate limits, on vs off: a second API process with both off, same load.
    const untrusted = await startGateway('api', { BENCH_AUDIT: 'false', BENCH_LIMITS: 'false' });
    const trust = await benchTrustOverhead({
      http,
      on: { url: gatewayUrl, pid: api.child.pid },
      off: { url: untrusted.url, pid: untrusted.child.pid },
      phones: lookup.phones,
      concurrency,
      rounds: envCount('BENCH_TRUST_ROUNDS', 4),
      perRound: envCount('BENCH_TRUST_REQUESTS', 1000),
      offset: OFFSET.trust,
      authorization: benchClient.authorization,
    });
    await untrusted.stop();
    console.log(reportTrustOverhead(trust, concurrency));

    // 3. Drain the writes accepted so far (not measured), so the backlog starts from empty lanes.
    const preDrain = await measureDrain({
      http,
      gatewayUrl,
      connection: CONNECTION,
      startWorker,
      pids: () => ({}),
      deadlineMs: drainDeadlineMs,
    });
    console.log(
      `warm-up writes drained: ${preDrain.pendingAtStart} in ${fmt(preDrain.seconds, 1)} s (not measured; failed ${preDrain.final.failed}, needs-review ${preDrain.final.needsReview})`,
    );

    // 4. The backlog, accepted through the API with the EHR up: the acceptance measurement and Redis memory.
    const memoryBefore = await redisMemorySnapshot(redisClient);
    const apiPatch = await patchLoad({
      http,
      gatewayUrl,
      phase: 'backlog',
      offset: OFFSET.backlog,
      total: backlog,
      concurrency,
      pids,
    });
    const memoryAfter = await redisMemorySnapshot(redisClient);
    const acceptance: AcceptanceResults = {
      concurrency,
      bodyBytes,
      rawAdd,
      api: apiPatch,
      apiEhrFailingFast,
      sandboxRead,
      bare,
    };
    console.log(reportAcceptance(acceptance));
    const accepted = apiPatch.load.requests - apiPatch.load.errors;
    const samples = [
      await sampleKeys(redisClient, '{continuum}:op:*'),
      await sampleKeys(redisClient, '{continuum}:idem:*'),
    ];
    const memory = redisMemoryResult(memoryBefore, memoryAfter, Math.max(1, accepted), bodyBytes, samples);
    console.log(reportRedisMemory(memory));
    const auditMemory = await benchAuditMemory(redisClient, envCount('BENCH_AUDIT_RECORDS', 20000));
    console.log(reportAuditMemory(auditMemory));

    // 5. The same writes straight to the sandbox, then 6. the backlog drained by a worker. Setting
    // the sandbox's mode (up) zeroes its request counters, which check both send the same requests.
    await setSandboxFaults(http, sandboxOrigin, { mode: 'up' });
    const direct = await directSandboxWrites({
      http,
      sandboxFhirUrl,
      offset: OFFSET.direct,
      total: backlog,
      concurrency: workerConcurrency,
      pids: { sandbox: sandbox.child.pid, redis: redis.child.pid, 'load generator': process.pid },
    });
    const directRequests = await sandboxRequestsSeen(http, sandboxOrigin);
    await setSandboxFaults(http, sandboxOrigin, { mode: 'up' });
    const drain = await measureDrain({
      http,
      gatewayUrl,
      connection: CONNECTION,
      startWorker,
      pids: (worker) => ({
        worker: worker.child.pid,
        sandbox: sandbox.child.pid,
        redis: redis.child.pid,
        api: api.child.pid,
        'load generator': process.pid,
      }),
      deadlineMs: drainDeadlineMs,
    });
    const drainRequests = await sandboxRequestsSeen(http, sandboxOrigin);
    console.log(
      reportDrain(direct, drain, workerConcurrency, { direct: directRequests, drain: drainRequests }),
    );

    const lookupRatio = lookup.gateway.p50 / lookup.direct.p50;
    const lookupAdded = lookup.gateway.p50 - lookup.direct.p50;
    const acceptRatio = apiPatch.load.perSecond / rawAdd.load.perSecond;
    const fastRatio = apiEhrFailingFast.load.perSecond / rawAdd.load.perSecond;
    const bareRatio = bare.load.perSecond / rawAdd.load.perSecond;
    const drainRatio = drain.perSecond / direct.perSecond;
    const memoryRatio = memory.bytesPerWrite / bodyBytes;
    // Verdicts only for the goals in bench/README.md that these runs measure; the sandbox answers in
    // about a millisecond, so ratios against it are diagnostics (the goals assume an EHR at 40 ms).
    const authRows = authCost.rows.map((row): GoalRow => {
      const share = authShare(row.warm, lookupCpuUs);
      return {
        measure: `auth per request / lookup CPU, ${row.short}`,
        result: `${share === undefined ? 'n/a' : `${fmt(share * 100, 1)}%`} (${fmt(row.warm.cpuUs, 1)} µs${lookupCpuUs === undefined ? '' : ` of ${fmt(lookupCpuUs, 0)} µs`})`,
        goal: '< 5%',
        met: share === undefined ? undefined : share < 0.05,
      };
    });
    const coldBearer = authCost.rows[0]?.cold;
    const trustRatio = trustRatios(trust);
    const rows: GoalRow[] = [
      {
        measure: 'lookup with audit + limits / without',
        result: `${fmt(trustRatio.lookup, 3)}x`,
        goal: '>= 0.9x',
        met: trustRatio.lookup >= 0.9,
      },
      {
        measure: 'write acceptance with audit + limits / without',
        result: `${fmt(trustRatio.write, 3)}x`,
        goal: '>= 0.9x',
        met: trustRatio.write >= 0.9,
      },
      {
        measure: 'write acceptance / bare express validate + add',
        result: `${fmt(acceptRatio / bareRatio)}x`,
        goal: '>= 0.9x',
        met: acceptRatio / bareRatio >= 0.9,
      },
      {
        measure: 'write acceptance p99',
        result: `${fmt(apiPatch.load.p99, 1)} ms`,
        goal: '<= 50 ms',
        met: apiPatch.load.p99 <= 50,
      },
      {
        measure: 'cached lookup p99, EHR down',
        result: `${fmt(cachedLookup.load.p99, 1)} ms (p50 ${fmt(cachedLookup.load.p50, 1)} ms)${cachedLookup.load.errors > 0 ? `, ${cachedLookup.load.errors} errors` : ''}`,
        goal: '<= 50 ms',
        met: cachedLookup.load.errors === 0 && cachedLookup.load.p99 <= 50,
      },
      {
        measure: 'Redis memory per queued write / payload',
        result: `${fmt(memoryRatio)}x (${fmt(memory.bytesPerWrite, 0)} B)`,
        goal: '<= 3x',
        met: memoryRatio <= 3,
      },
      ...authRows,
      {
        measure: '  lookup p50, gateway / direct search',
        result: `${fmt(lookupRatio)}x (+${fmt(lookupAdded)} ms)`,
        goal: '(diagnostic: 1 ms sandbox)',
        met: undefined,
      },
      {
        measure: '  API write acceptance / raw BullMQ add',
        result: `${fmt(acceptRatio)}x; bare endpoint ${fmt(bareRatio)}x, p99 ${fmt(bare.load.p99, 1)} ms`,
        goal: '(diagnostic)',
        met: undefined,
      },
      {
        measure: '  same, EHR read failing fast',
        result: `${fmt(fastRatio)}x, p99 ${fmt(apiEhrFailingFast.load.p99, 1)} ms`,
        goal: '(diagnostic)',
        met: undefined,
      },
      {
        measure: '  auth, cold cache (first request per key)',
        result:
          coldBearer === undefined
            ? 'n/a'
            : `${fmt(coldBearer.cpuUs, 0)} µs + Redis ${coldBearer.redisCpuUs === undefined ? 'n/a' : `${fmt(coldBearer.redisCpuUs, 0)} µs`}, ${fmt(coldBearer.redisCommands, 1)} round trips, ${fmt(coldBearer.wallUs, 0)} µs elapsed`,
        goal: '(diagnostic: once per key per process)',
        met: undefined,
      },
      {
        measure: '  backlog drain / direct sandbox writes',
        result: `${fmt(drainRatio)}x${drain.timedOut ? ' (deadline)' : ''}`,
        goal: '(diagnostic: 1 ms sandbox)',
        met: undefined,
      },
    ];
    console.log('\nsummary (ratios from this run; a miss is reported, it does not fail the run)');
    console.log(formatGoals(rows));
  } finally {
    httpToClose?.close();
    redisClient?.disconnect();
    await stopAll();
    clearTimeout(watchdog);
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
  }
  console.log(`total elapsed ${fmt((Date.now() - started) / 1000, 0)} s`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
