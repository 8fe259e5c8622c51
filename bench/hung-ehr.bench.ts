/**
 * `node dist/bench/hung-ehr.bench.js` (after `npm run build`): what an agent feels in the first
 * seconds of a hung EHR (it takes connections and never answers), against the same load on a
 * healthy one, measured side by side in one run.
 *
 * Processes: its own redis-server (AOF everysec), `continuum sandbox`, and an API gateway
 * (`--role api`, hung-ehr.config.yaml) whose one connection reaches the sandbox through a proxy in
 * this process that can stop answering (hanging-proxy.ts). Every write checks its patient against
 * the EHR (`confirmedPatientTtlSeconds: 0`), the path a hang holds; every read is of a patient read
 * once before, so the continuity cache has an answer.
 *
 * Load: BENCH_HANG_WRITERS (8) closed loops of `PATCH /v1/patients/:id` and BENCH_HANG_READERS (8)
 * of `GET /v1/patients/:id`, for BENCH_HANG_SECONDS (3) on the healthy EHR, then the proxy hangs
 * and the same load runs as long again. Printed: p50/p99/max of write acceptance and of cached
 * reads, healthy vs the first second of the hang vs the whole hang window, the ratios hung/healthy,
 * where reads were answered from, any answer that was not 202/200, and when the API first saw the
 * breaker open. It reports and never gates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config/load-config';
import { createLogger } from '../src/observability/logger';
import { projectRoot } from '../src/project-root';
import { checkAccessControl, registerBenchClient } from './bench-client';
import {
  createHttpClient,
  fmt,
  freePort,
  startProcess,
  startRedisWithAof,
  waitForHttp,
  type HttpClient,
  type Proc,
} from './bench-support';
import { startHangingProxy, type HangingProxy } from './hanging-proxy';
import { patientFor, writeBody } from './write-workload';

function envCount(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

interface Sample {
  readonly kind: 'write' | 'read';
  /** When the request was sent, in ms from the start of its phase. */
  readonly at: number;
  readonly ms: number;
  readonly status: number;
  /** Reads: `ehr` or `cache`. */
  readonly source: string | undefined;
}

/** Patients the readers read: warmed into the cache first, never written by this run. */
const READ_PATIENTS = Array.from({ length: 40 }, (_, i) => `pat-${String(201 + i).padStart(4, '0')}`);

async function driveLoad(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly phase: string;
  readonly writers: number;
  readonly readers: number;
  readonly seconds: number;
  readonly firstWrite: number;
}): Promise<Sample[]> {
  const samples: Sample[] = [];
  const started = performance.now();
  const endsAt = started + options.seconds * 1000;
  let nextWrite = options.firstWrite;
  let nextRead = 0;
  const timed = async (
    kind: Sample['kind'],
    send: () => Promise<{ status: number; body: string }>,
  ): Promise<void> => {
    const t0 = performance.now();
    const answer = await send().catch(() => ({ status: 0, body: '' }));
    const ms = performance.now() - t0;
    let source: string | undefined;
    if (kind === 'read' && answer.status === 200) {
      source = (JSON.parse(answer.body) as { freshness?: { source?: string } }).freshness?.source;
    }
    samples.push({ kind, at: t0 - started, ms, status: answer.status, source });
  };
  const loop = async (kind: Sample['kind']): Promise<void> => {
    while (performance.now() < endsAt) {
      if (kind === 'write') {
        const n = nextWrite++;
        await timed('write', () =>
          options.http.request('PATCH', `${options.gatewayUrl}/v1/patients/${patientFor(n)}`, writeBody(n), {
            'idempotency-key': `bench-hang-${options.phase}-${n}`,
          }),
        );
      } else {
        const id = READ_PATIENTS[nextRead++ % READ_PATIENTS.length] ?? 'pat-0201';
        await timed('read', () => options.http.request('GET', `${options.gatewayUrl}/v1/patients/${id}`));
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: options.writers }, () => loop('write')),
    ...Array.from({ length: options.readers }, () => loop('read')),
  ]);
  return samples;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Figures {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function figures(samples: readonly Sample[]): Figures {
  const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
  };
}

function row(label: string, f: Figures): string {
  return `  ${label.padEnd(34)} n=${String(f.count).padStart(5)}  p50 ${fmt(f.p50, 1).padStart(7)} ms  p99 ${fmt(f.p99, 1).padStart(7)} ms  max ${fmt(f.max, 1).padStart(7)} ms`;
}

/** Statuses and read sources, for what was not a plain 202 or 200. */
function outcomes(samples: readonly Sample[]): string {
  const counts = new Map<string, number>();
  for (const s of samples) {
    const key =
      s.kind === 'read' ? `${s.status}${s.source === undefined ? '' : ` ${s.source}`}` : String(s.status);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()].map(([k, n]) => `${k}: ${n}`).join(', ');
}

async function breakerOpenedAt(
  http: HttpClient,
  gatewayUrl: string,
  since: number,
  until: number,
): Promise<number | undefined> {
  while (performance.now() < until) {
    const answer = await http.request('GET', `${gatewayUrl}/v1/status`).catch(() => undefined);
    if (answer?.status === 200) {
      const body = JSON.parse(answer.body) as {
        connections?: Record<string, { breaker?: { state?: string } }>;
      };
      if (body.connections?.sandbox?.breaker?.state === 'open') return performance.now() - since;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

async function main(): Promise<void> {
  const writers = envCount('BENCH_HANG_WRITERS', 8);
  const readers = envCount('BENCH_HANG_READERS', 8);
  const seconds = envCount('BENCH_HANG_SECONDS', 3);
  const root = projectRoot();
  const cli = join(root, 'dist', 'src', 'cli', 'continuum.js');
  const configFile = join(root, 'bench', 'hung-ehr.config.yaml');
  const procs: Proc[] = [];
  let proxy: HangingProxy | undefined;
  let http: HttpClient | undefined;
  let redisClient: Redis | undefined;
  const dataDir = mkdtempSync(join(tmpdir(), 'continuum-bench-hang-'));
  const watchdog = setTimeout(
    () => {
      console.error('benchmark watchdog: over 5 minutes, stopping');
      process.exitCode = 2;
      void stopAll();
    },
    5 * 60 * 1000,
  );
  const stopAll = async (): Promise<void> => {
    clearTimeout(watchdog);
    http?.close();
    redisClient?.disconnect();
    await proxy?.close();
    for (const proc of procs.splice(0).reverse()) await proc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const redis = await startRedisWithAof();
    procs.push(redis);
    redisClient = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const sandboxPort = await freePort();
    procs.push(startProcess(process.execPath, [cli, 'sandbox', '--port', String(sandboxPort)]));
    const sandboxOrigin = `http://127.0.0.1:${sandboxPort}`;
    await waitForHttp(`${sandboxOrigin}/sandbox/fhir/metadata`);
    proxy = await startHangingProxy(sandboxOrigin);

    const gatewayEnv: NodeJS.ProcessEnv = {
      ...process.env,
      REDIS_URL: redis.url,
      LOG_LEVEL: 'warn',
      CONTINUUM_CONFIG: configFile,
      BENCH_SANDBOX_URL: `${proxy.origin}/sandbox/fhir`,
      CONTINUUM_DATA_DIR: dataDir,
    };
    const port = await freePort();
    procs.push(
      startProcess(process.execPath, [cli, 'start', '--role', 'api'], { ...gatewayEnv, PORT: String(port) }),
    );
    const gatewayUrl = `http://127.0.0.1:${port}`;
    await waitForHttp(`${gatewayUrl}/readyz`);
    const gatewayConfig = loadConfig({ env: gatewayEnv, builtInMappingsDir: join(root, 'mappings') });
    const connection = gatewayConfig.connections.sandbox;
    const benchClient = await registerBenchClient({
      redis: redisClient,
      prefix: `{${gatewayConfig.redis.keyPrefix}}`,
      tenant: gatewayConfig.auth.adminTenant,
      logger: createLogger({ level: 'warn', destination: process.stderr }),
    });
    await checkAccessControl(gatewayUrl, benchClient);
    http = createHttpClient(writers + readers + 8, {
      credentials: { [gatewayUrl]: benchClient.authorization },
    });

    // The cache holds every patient the readers read; a short warm-up load settles the processes.
    for (const id of READ_PATIENTS) await http.json('GET', `${gatewayUrl}/v1/patients/${id}`);
    await driveLoad({ http, gatewayUrl, phase: 'warm', writers, readers, seconds: 1, firstWrite: 0 });

    const healthy = await driveLoad({
      http,
      gatewayUrl,
      phase: 'healthy',
      writers,
      readers,
      seconds,
      firstWrite: 100_000,
    });
    proxy.hang();
    const hangStarted = performance.now();
    const [hung, openedAfterMs] = await Promise.all([
      driveLoad({ http, gatewayUrl, phase: 'hung', writers, readers, seconds, firstWrite: 200_000 }),
      breakerOpenedAt(http, gatewayUrl, hangStarted, hangStarted + seconds * 1000),
    ]);

    const of = (samples: readonly Sample[], kind: Sample['kind'], within?: number): Sample[] =>
      samples.filter((s) => s.kind === kind && (within === undefined || s.at < within));
    const healthyWrites = figures(of(healthy, 'write'));
    const healthyReads = figures(of(healthy, 'read'));
    const firstWrites = figures(of(hung, 'write', 1000));
    const firstReads = figures(of(hung, 'read', 1000));
    const hungWrites = figures(of(hung, 'write'));
    const hungReads = figures(of(hung, 'read'));

    console.log(
      `Hung EHR (node ${process.version}): ${writers} writers + ${readers} readers, ${seconds} s per phase`,
    );
    console.log(
      `  connection: acceptCheckMs ${connection?.acceptCheckMs}, staleAfterMs ${connection?.staleAfterMs}, ` +
        `readDeadlineMs ${connection?.readDeadlineMs}, breaker.stalledCalls ${connection?.breaker.stalledCalls}, ` +
        `breaker.stallAfterMs ${connection?.breaker.stallAfterMs}`,
    );
    console.log('Write acceptance (PATCH, patient checked against the EHR):');
    console.log(row('healthy EHR', healthyWrites));
    console.log(row('hung EHR, first second', firstWrites));
    console.log(row(`hung EHR, first ${seconds} s`, hungWrites));
    console.log('Cached read (GET /v1/patients/:id, answer in the continuity cache):');
    console.log(row('healthy EHR', healthyReads));
    console.log(row('hung EHR, first second', firstReads));
    console.log(row(`hung EHR, first ${seconds} s`, hungReads));
    console.log('Ratios, hung (first second) / healthy:');
    console.log(
      `  writes p50 ${fmt(firstWrites.p50 / healthyWrites.p50)}x, p99 ${fmt(firstWrites.p99 / healthyWrites.p99)}x; ` +
        `reads p50 ${fmt(firstReads.p50 / healthyReads.p50)}x, p99 ${fmt(firstReads.p99 / healthyReads.p99)}x`,
    );
    console.log(
      `Answers, healthy: writes ${outcomes(of(healthy, 'write'))}; reads ${outcomes(of(healthy, 'read'))}`,
    );
    console.log(
      `Answers, hung:    writes ${outcomes(of(hung, 'write'))}; reads ${outcomes(of(hung, 'read'))}`,
    );
    console.log(
      openedAfterMs === undefined
        ? `Breaker: not seen open within ${seconds} s of the hang`
        : `Breaker: seen open ${fmt(openedAfterMs, 0)} ms after the hang began (status polled every 25 ms)`,
    );
    console.log(`Requests the hung EHR holds unanswered at the end: ${proxy.held()}`);
    const goal = Math.max(firstWrites.p99, firstReads.p99, hungWrites.p99, hungReads.p99);
    console.log(
      `Goal: writes accepted and cached reads answered within 300 ms p99 from the first second: worst p99 ${fmt(goal, 1)} ms (${goal <= 300 ? 'met' : 'missed'})`,
    );
  } finally {
    await stopAll();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
