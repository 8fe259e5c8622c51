/**
 * Screen-pop lookup: `GET /v1/patients/lookup?phone=` through the gateway vs the same FHIR search
 * (`Patient?phone=<every stored format>`) sent straight to the sandbox, at the same concurrency,
 * measured side by side in one run. The gateway adds normalisation, the phone index and mapping.
 *
 * Why the comparison is fair: the direct side sends the very search the gateway sends for the
 * same numbers (every format the number may be stored in, as comma-separated alternatives), from
 * the same load generator and client, to the same sandbox process, after the same warm-up; the
 * difference is what the gateway's hop and work cost a caller.
 *
 * Then the figure promised for a crisis: the same lookup load through the gateway while the
 * sandbox is down (every FHIR connection reset), answered from Continuum's phone index and
 * continuity cache (`freshness.source: "cache"`). Every number it looks up was first looked up
 * while the EHR was up and answered `found` by the EHR (a warm pass checks each one), so the cache
 * holds its patients. The run includes the breaker opening: the first lookups try the EHR and fail
 * (each one counts a failure), and after `breaker.failureThreshold` consecutive failures the API
 * skips the EHR and answers from the cache at once. That is the product's behaviour during an
 * outage, so it is measured as is; the report says how many lookups tried the EHR (the FHIR
 * requests the sandbox saw while down) and how many were answered with the breaker open.
 */
import { fhirSearchAlternatives, phoneSearchVariants } from '../src/phone';
import {
  cpuMeter,
  fmt,
  formatCpu,
  pollUntil,
  runCount,
  runLoad,
  sandboxRequestsSeen,
  setSandboxFaults,
  type CpuUse,
  type HttpClient,
  type LoadResult,
  type Proc,
} from './bench-support';
import type { Pids } from './write-acceptance.bench';

export interface LookupBenchOptions {
  readonly gatewayUrl: string;
  /** The `Authorization` value every lookup through the gateway presents. */
  readonly gatewayAuthorization: string;
  readonly sandboxFhirUrl: string;
  readonly concurrency: number;
  readonly requests: number;
  /** Processes whose CPU is counted per lookup through the gateway (API, sandbox, Redis, load generator). */
  readonly pids: Pids;
  /** The same for the direct side (sandbox, load generator). */
  readonly directPids: Pids;
}

export interface LookupResults {
  readonly direct: LoadResult;
  readonly gateway: LoadResult;
  readonly cpu: { readonly direct: CpuUse; readonly gateway: CpuUse };
  /** The numbers the measured load looked up, in the order it cycled through them. */
  readonly phones: readonly string[];
}

async function samplePhones(sandboxFhirUrl: string): Promise<string[]> {
  const bundle = (await (await fetch(`${sandboxFhirUrl}/Patient?_count=100`)).json()) as {
    entry: { resource: { telecom?: { system?: string; value?: string }[] } }[];
  };
  return bundle.entry
    .flatMap((e) => e.resource.telecom ?? [])
    .filter((t) => t.system === 'phone' && t.value !== undefined)
    .map((t) => `+1${(t.value ?? '').replace(/\D/g, '').slice(-10)}`);
}

function lookupUrl(gatewayUrl: string, phone: string): string {
  return `${gatewayUrl}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`;
}

/** The parts of a lookup answer the benchmark checks. */
interface LookupAnswer {
  readonly found?: boolean;
  readonly matches?: readonly unknown[];
  readonly matchIds?: readonly unknown[];
  readonly freshness?: { readonly source?: string };
}

function parseLookup(body: string): LookupAnswer | undefined {
  try {
    return JSON.parse(body) as LookupAnswer;
  } catch {
    return undefined;
  }
}

export async function benchLookup(options: LookupBenchOptions): Promise<LookupResults> {
  const phones = await samplePhones(options.sandboxFhirUrl);
  const pick = (i: number): string => phones[i % phones.length] ?? '+16175550100';
  const directUrl = (i: number): string =>
    `${options.sandboxFhirUrl}/Patient?phone=${encodeURIComponent(fhirSearchAlternatives(phoneSearchVariants(pick(i), 'US')))}&_count=20`;
  const gatewayUrl = (i: number): string => lookupUrl(options.gatewayUrl, pick(i));
  // The sandbox (`continuum sandbox`) checks no credential; the gateway checks one on every lookup.
  const gatewayHeaders = { authorization: options.gatewayAuthorization };
  const get = async (url: string, headers?: Record<string, string>): Promise<boolean> => {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    return res.ok;
  };

  // Warm both paths (JIT, connection pools, phone index) before measuring.
  await runLoad(options.concurrency, Math.min(500, options.requests), (i) => get(directUrl(i)));
  await runLoad(options.concurrency, Math.min(500, options.requests), (i) =>
    get(gatewayUrl(i), gatewayHeaders),
  );
  const directMeter = cpuMeter(options.directPids);
  const direct = await runLoad(options.concurrency, options.requests, (i) => get(directUrl(i)));
  const directCpu = directMeter.stop();
  const gatewayMeter = cpuMeter(options.pids);
  const gateway = await runLoad(options.concurrency, options.requests, (i) =>
    get(gatewayUrl(i), gatewayHeaders),
  );
  const gatewayCpu = gatewayMeter.stop();
  // pick(i) for i < requests: the warm-up (min(500, requests)) used a prefix of the same numbers.
  return {
    direct,
    gateway,
    cpu: { direct: directCpu, gateway: gatewayCpu },
    phones: phones.slice(0, Math.min(phones.length, options.requests)),
  };
}

export interface CachedLookupOptions {
  /** Presents the gateway's credential on every request to it (createHttpClient's `credentials`). */
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  /** The `Authorization` value the measured lookups (sent with fetch) present. */
  readonly gatewayAuthorization: string;
  readonly sandboxOrigin: string;
  readonly connection: string;
  readonly concurrency: number;
  readonly requests: number;
  /** The numbers the EHR-up load looked up, in order (`LookupResults.phones`). */
  readonly phones: readonly string[];
  /** API, sandbox, Redis, load generator. */
  readonly pids: Pids;
  /** Starts a worker process: its breaker probe is the only way an open breaker half-opens. */
  readonly startWorker: () => Promise<Proc>;
  /** How long the EHR may take to answer lookups again once the sandbox is up. */
  readonly recoveryDeadlineMs: number;
}

export interface CachedLookupResult {
  readonly load: LoadResult;
  readonly cpu: CpuUse;
  /** The first answer that was not `found` from the cache, for the report. */
  readonly firstFailure: string | undefined;
  /** Distinct numbers looked up, and those of the EHR-up load the warm pass could not confirm. */
  readonly numbers: number;
  readonly unconfirmed: number;
  /** FHIR requests the sandbox saw while down: one per lookup that tried the EHR before the breaker opened. */
  readonly triedEhr: number;
  /** Cached answers naming a patient only by id (known to the phone index, not in the cache). */
  readonly withUncached: number;
  readonly breakerAfterOutage: string;
  readonly breakerAfterRecovery: string;
  /** From the sandbox coming up until a lookup through the gateway was answered by the EHR again. */
  readonly recoverySeconds: number;
}

async function breakerState(http: HttpClient, gatewayUrl: string, connection: string): Promise<string> {
  const status = await http
    .json<{
      connections: Record<string, { breaker?: { state?: string } } | undefined>;
    }>('GET', `${gatewayUrl}/v1/status`)
    .catch(() => undefined);
  return status?.connections[connection]?.breaker?.state ?? 'unknown';
}

/**
 * The cached screen-pop lookup with the sandbox down (connection reset), at the same concurrency
 * and request count as the EHR-up load, then the sandbox up again and the run held until the EHR
 * answers lookups through the gateway again, so the phases after this one are not disturbed.
 *
 * Recovery: the API process (`--role api`) never probes an open breaker; the probe runs only in
 * worker processes (src/main.ts), and none runs during the lookup phase. So once the sandbox is up
 * a worker process is started just for the probe: it half-opens the breaker within
 * `breaker.probeIntervalMs` (1 s by default) of the breaker opening, the next lookup goes to the
 * EHR and its success closes the breaker. The worker is stopped before this function returns; no
 * write is queued at this point of the run, so it has nothing else to do. It is started after the
 * measurement rather than during it: with the sandbox down its probes fail and change nothing, so
 * the measurement is the same, and the API runs alone as in the EHR-up measurement beside it.
 */
export async function benchCachedLookup(options: CachedLookupOptions): Promise<CachedLookupResult> {
  const { http, gatewayUrl } = options;

  // Warm pass, EHR up: each number the load uses is looked up once more and must be found by the
  // EHR. That answer puts its patients in the continuity cache and the phone index; a number that
  // is not found stays out of the cached run (there is nothing to serve for it during an outage).
  const distinct = [...new Set(options.phones)];
  const confirmed = new Set<string>();
  let firstWarmFailure: string | undefined;
  await runCount(options.concurrency, distinct.length, async (i) => {
    const phone = distinct[i] ?? '';
    const answer = await http.request('GET', lookupUrl(gatewayUrl, phone)).catch((error: unknown) => ({
      status: 0,
      body: String(error),
    }));
    const body = parseLookup(answer.body);
    if (
      answer.status === 200 &&
      body?.found === true &&
      body.freshness?.source === 'ehr' &&
      (body.matches?.length ?? 0) > 0
    ) {
      confirmed.add(phone);
    } else {
      firstWarmFailure ??= `${phone}: HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
    }
  });
  const numbers = options.phones.filter((phone) => confirmed.has(phone));
  if (numbers.length === 0) {
    throw new Error(
      `cached lookup: no number was found through the EHR (${firstWarmFailure ?? 'no numbers'})`,
    );
  }
  const pick = (i: number): string => numbers[i % numbers.length] ?? '';

  let firstFailure: string | undefined;
  let withUncached = 0;
  // Same client as the EHR-up gateway load (fetch), so the latencies compare.
  const cachedLookup = async (i: number): Promise<boolean> => {
    let status = 0;
    let text = '';
    try {
      const res = await fetch(lookupUrl(gatewayUrl, pick(i)), {
        headers: { authorization: options.gatewayAuthorization },
      });
      status = res.status;
      text = await res.text();
    } catch (error) {
      firstFailure ??= `fetch failed: ${String(error)}`;
      return false;
    }
    const body = parseLookup(text);
    if (status === 200 && body?.found === true && body.freshness?.source === 'cache') {
      if ((body.matchIds?.length ?? 0) > 0) withUncached++;
      return true;
    }
    firstFailure ??= `HTTP ${status} ${text.slice(0, 200)}`;
    return false;
  };

  // The end (durationMs) is a safety net only: the finally below puts the sandbox up.
  await setSandboxFaults(http, options.sandboxOrigin, { mode: 'down', kind: 'refuse', durationMs: 120000 });
  let measured: { load: LoadResult; cpu: CpuUse; triedEhr: number; breaker: string };
  let upAt: number;
  try {
    const meter = cpuMeter(options.pids);
    const load = await runLoad(options.concurrency, options.requests, cachedLookup);
    const cpu = meter.stop();
    // Setting the mode zeroed the sandbox's counters: what it saw since are the lookups' searches.
    const triedEhr = await sandboxRequestsSeen(http, options.sandboxOrigin);
    const breaker = await breakerState(http, gatewayUrl, options.connection);
    measured = { load, cpu, triedEhr, breaker };
  } finally {
    await setSandboxFaults(http, options.sandboxOrigin, { mode: 'up' });
    upAt = Date.now();
  }

  // Recovery before the next phase: a worker's probe half-opens the breaker (see above).
  const worker = await options.startWorker();
  try {
    await pollUntil(
      'lookup answered by the EHR again after the outage',
      async () => {
        const answer = await http.request('GET', lookupUrl(gatewayUrl, pick(0))).catch(() => undefined);
        if (answer?.status !== 200) return undefined;
        return parseLookup(answer.body)?.freshness?.source === 'ehr' ? true : undefined;
      },
      options.recoveryDeadlineMs,
      250,
    );
  } finally {
    await worker.stop();
  }
  const recoverySeconds = (Date.now() - upAt) / 1000;

  return {
    load: measured.load,
    cpu: measured.cpu,
    firstFailure,
    numbers: new Set(numbers).size,
    unconfirmed: distinct.length - confirmed.size,
    triedEhr: measured.triedEhr,
    withUncached,
    breakerAfterOutage: measured.breaker,
    breakerAfterRecovery: await breakerState(http, gatewayUrl, options.connection),
    recoverySeconds,
  };
}

export function reportLookup(
  { direct, gateway, cpu }: LookupResults,
  cached: CachedLookupResult,
  concurrency: number,
): string {
  const c = cached.load;
  const failure = cached.firstFailure !== undefined ? `  first failure: ${cached.firstFailure}` : '';
  const unconfirmed =
    cached.unconfirmed > 0 ? ` (${cached.unconfirmed} left out: not found through the EHR)` : '';
  const uncached =
    cached.withUncached > 0 ? `; ${cached.withUncached} answers named a patient only by id (not cached)` : '';
  return [
    `screen-pop lookup, ${concurrency} concurrent callers, ${direct.requests} requests each`,
    `  direct sandbox search : p50 ${fmt(direct.p50)} ms  p99 ${fmt(direct.p99)} ms  ${fmt(direct.perSecond, 0)} req/s  errors ${direct.errors}`,
    `  through the gateway   : p50 ${fmt(gateway.p50)} ms  p99 ${fmt(gateway.p99)} ms  ${fmt(gateway.perSecond, 0)} req/s  errors ${gateway.errors}`,
    `  ratio gateway/direct  : p50 ${fmt(gateway.p50 / direct.p50)}x (+${fmt(gateway.p50 - direct.p50)} ms)  p99 ${fmt(gateway.p99 / direct.p99)}x  throughput ${fmt(gateway.perSecond / direct.perSecond)}x`,
    `  CPU per lookup, direct  : ${formatCpu(cpu.direct, direct.requests)}`,
    `  CPU per lookup, gateway : ${formatCpu(cpu.gateway, gateway.requests)}`,
    `cached screen-pop lookup, sandbox down (connections reset), ${concurrency} concurrent callers, ${c.requests} requests over ${cached.numbers} numbers${unconfirmed}`,
    `  through the gateway   : p50 ${fmt(c.p50)} ms  p99 ${fmt(c.p99)} ms  ${fmt(c.perSecond, 0)} req/s  errors ${c.errors} (success: found, freshness.source "cache")${failure}`,
    `  breaker               : ${cached.triedEhr} lookups tried the EHR first (FHIR requests the sandbox saw), ${Math.max(0, c.requests - cached.triedEhr)} answered with the breaker open without trying; breaker ${cached.breakerAfterOutage} at the end${uncached}`,
    `  CPU per lookup, cached  : ${formatCpu(cached.cpu, c.requests)}`,
    `  cached/EHR-up gateway : p50 ${fmt(c.p50 / gateway.p50)}x  p99 ${fmt(c.p99 / gateway.p99)}x  throughput ${fmt(c.perSecond / gateway.perSecond)}x`,
    `  sandbox up again: lookups answered by the EHR after ${fmt(cached.recoverySeconds, 1)} s (a worker started for its breaker probe); breaker ${cached.breakerAfterRecovery}`,
  ].join('\n');
}
