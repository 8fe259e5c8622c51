/**
 * The benchmarks of the gateway against the sandbox answering in about a millisecond (phase
 * `classic` of `npm run bench`): the screen-pop lookup and the cached lookup with the EHR down,
 * authentication per request, write acceptance and its baselines, the audit trail and limits on
 * against off, Redis memory, and the backlog drain against direct writes. Most of their ratios are
 * diagnostics (the goals assume an EHR at 40 ms, ehr-capacity-suite.ts); the cached lookup, write
 * acceptance against the bare endpoint, memory, authentication and trust overhead have goals.
 *
 * Order: lookup (direct search, the gateway, then the gateway with the sandbox down, answered from
 * the continuity cache); authentication per request against the lookup's CPU (in this process,
 * auth-cost.bench.ts); write acceptance baselines (raw `Queue.add`, the existence read alone, the
 * API with the EHR failing fast); the audit trail and limits on vs off; the warm-up writes drained;
 * the backlog accepted through the API (the acceptance measurement, with Redis memory before and
 * after); the same writes straight to the sandbox; the backlog drained by the worker.
 */
import { join } from 'node:path';
import { loadConfig } from '../src/config/load-config';
import { authShare, benchAuthCost, reportAuthCost } from './auth-cost.bench';
import { directSandboxWrites, measureDrain, reportDrain } from './backlog-drain.bench';
import {
  fmt,
  freePort,
  sandboxRequestsSeen,
  setSandboxFaults,
  startProcess,
  waitForHttp,
  type GoalRow,
  type Proc,
} from './bench-support';
import type { SuiteOptions, SuiteRows } from './ehr-capacity-suite';
import { startGatewayRig } from './gateway-rig';
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

export async function runClassicPhase(options: SuiteOptions): Promise<SuiteRows> {
  const envCount = options.env;
  const concurrency = options.concurrency;
  const requests = envCount('BENCH_REQUESTS', 5000);
  const backlog = envCount('BENCH_BACKLOG', 10000);
  const adds = envCount('BENCH_ADDS', 20000);
  const drainDeadlineMs = envCount('BENCH_DRAIN_DEADLINE_S', 300) * 1000;
  const authCalls = envCount('BENCH_AUTH_CALLS', 20000);
  const authColdCalls = envCount('BENCH_AUTH_COLD', 500);
  const root = options.root;
  const configFile = join(root, 'bench', 'bench.config.yaml');
  // The worker's concurrency as the gateway will read it, for the direct baseline.
  const workerConcurrency = loadConfig({
    env: { ...process.env, CONTINUUM_CONFIG: configFile, BENCH_SANDBOX_URL: 'http://127.0.0.1:1/fhir' },
    builtInMappingsDir: join(root, 'mappings'),
  }).queue.concurrency;

  const rig = await startGatewayRig({
    root,
    configFile,
    env: { BENCH_WORKER_CONCURRENCY: String(workerConcurrency) },
    maxSockets: concurrency + 8,
    ...(options.ports !== undefined ? { ports: options.ports } : {}),
    ...(options.profileDir !== undefined ? { profileDir: options.profileDir } : {}),
  });
  options.live.add(rig);
  try {
    const { redis, redisClient, sandbox, sandboxOrigin, sandboxFhirUrl, api, http } = rig;
    const benchClient = rig.client;
    const gatewayConfig = rig.config;
    const gatewayUrl = api.url;
    const startGateway = rig.startGateway;
    const bodyBytes = Buffer.byteLength(writeBody(OFFSET.backlog));

    console.log(
      `classic phase (sandbox answering in about a millisecond): concurrency ${concurrency}, lookup requests ${requests}, backlog ${backlog}, raw adds ${adds}, worker concurrency ${workerConcurrency}`,
    );
    console.log(
      `  every request to the gateway presents the key of client ${benchClient.client.id} (scopes ${benchClient.client.scopes.join(', ')}); without one it answers 401`,
    );

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
    const barePort = await freePort(options.ports);
    const bareServer = rig.adopt(
      startProcess(process.execPath, [
        join(root, 'dist', 'bench', 'bare-acceptance-server.js'),
        String(barePort),
        redis.url,
      ]),
    );
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
    return {
      goals: rows.filter((r) => r.met !== undefined),
      diagnostics: rows.filter((r) => r.met === undefined),
    };
  } finally {
    options.live.delete(rig);
    await rig.stop();
  }
}
