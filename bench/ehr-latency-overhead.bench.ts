/**
 * What the gateway adds to a call when the EHR answers in 40 ms (the sandbox in capacity mode with
 * room for every request, so nothing queues at the EHR), at BENCH_CONCURRENCY (50) clients, each
 * gateway figure beside the same FHIR request sent straight to the sandbox from the same load
 * generator and HTTP client:
 *
 * - a screen pop for a number the phone index does not know (each number looked up once) against
 *   the search the gateway sends for it (every stored format as comma-separated alternatives);
 * - a screen pop for a number the index knows (the pass above filled it) against one read by id of
 *   a patient the number belongs to, the fast path such a lookup may take;
 * - write acceptance (`PATCH /v1/patients/:id`, each write asking the EHR whether the patient
 *   exists: `confirmedPatientTtlSeconds: 0`) against that existence read alone, which is what the
 *   202 waits on; the rest (validation, idempotency, sealing, the queue) is the gateway's own.
 *
 * The goals are on the difference: gateway minus direct, p50 and p99. On a 2-core machine that also
 * runs the sandbox and the load generator, the gateway's CPU per request shows up as queueing in
 * that difference; the rates and CPU per request printed beside it say when that is so.
 */
import { fhirSearchAlternatives, phoneSearchVariants } from '../src/phone';
import {
  cpuMeter,
  fmt,
  formatCpu,
  runCount,
  runLoad,
  type CpuUse,
  type HttpClient,
  type LoadResult,
} from './bench-support';
import type { Pids } from './write-acceptance.bench';
import { writeBody } from './write-workload';

export interface OverheadPair {
  readonly name: string;
  readonly yardstick: string;
  readonly gateway: LoadResult;
  readonly direct: LoadResult;
  readonly gatewayCpu: CpuUse;
  readonly directCpu: CpuUse;
  readonly firstFailure: string | undefined;
  /** For lookups: what answered them and the phone searches they sent (`GET /metrics`). */
  readonly paths?: string;
}

/** The three comparisons at one concurrency. */
export interface OverheadRound {
  readonly concurrency: number;
  /** Numbers looked up for the first time in this round (each once): the index misses. */
  readonly numbers: number;
  readonly miss: OverheadPair;
  readonly hit: OverheadPair;
  readonly acceptance: OverheadPair;
}

export interface OverheadResult {
  readonly latencyMs: number;
  /** At the goals' concurrency. */
  readonly loaded: OverheadRound;
  /** At a few clients, where the machine's CPU is not the bottleneck: the gateway's own time. */
  readonly quiet: OverheadRound;
}

/** Counters of `GET /metrics` whose name starts with `prefix`, summed by one label's value. */
export async function metricsByLabel(
  http: HttpClient,
  gatewayUrl: string,
  prefix: string,
  label: string,
): Promise<Record<string, number>> {
  const answer = await http.request('GET', `${gatewayUrl}/metrics`);
  const sums: Record<string, number> = {};
  if (answer.status !== 200) return sums;
  for (const line of answer.body.split('\n')) {
    if (!line.startsWith(`${prefix}{`)) continue;
    const value = new RegExp(`${label}="([^"]*)"`).exec(line)?.[1];
    const count = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (value !== undefined && Number.isFinite(count)) sums[value] = (sums[value] ?? 0) + count;
  }
  return sums;
}

/** How a pass's lookups were answered and searched: counter increases over it, as `name n`. */
function difference(before: Record<string, number>, after: Record<string, number>): string {
  const parts = Object.entries(after)
    .map(([name, n]) => [name, n - (before[name] ?? 0)] as const)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

interface NumberOwner {
  readonly phone: string;
  readonly patientId: string;
}

/**
 * One number per patient (its first phone, in E.164), none shared with a patient listed before.
 * One per patient, because a lookup that reads a patient teaches the phone index all of that
 * patient's numbers: a second number of the same patient would no longer be a miss.
 */
async function sandboxNumbers(http: HttpClient, sandboxFhirUrl: string): Promise<NumberOwner[]> {
  const bundle = await http.json<{
    entry?: { resource: { id: string; telecom?: { system?: string; value?: string }[] } }[];
  }>('GET', `${sandboxFhirUrl}/Patient?_count=1000`);
  const seen = new Set<string>();
  const owners: NumberOwner[] = [];
  for (const entry of bundle.entry ?? []) {
    const phones = (entry.resource.telecom ?? [])
      .filter((t) => t.system === 'phone' && t.value !== undefined)
      .map((t) => `+1${(t.value ?? '').replace(/\D/g, '').slice(-10)}`);
    const first = phones[0];
    if (first !== undefined && !phones.some((p) => seen.has(p))) {
      owners.push({ phone: first, patientId: entry.resource.id });
    }
    for (const phone of phones) seen.add(phone);
  }
  return owners;
}

export async function benchEhrLatencyOverhead(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly sandboxFhirUrl: string;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly requests: number;
  /** The quiet round: its clients and the numbers (and requests) it uses. */
  readonly quiet: { readonly concurrency: number; readonly numbers: number; readonly requests: number };
  readonly writeOffset: number;
  readonly gatewayPids: Pids;
  readonly directPids: Pids;
}): Promise<OverheadResult> {
  const { http, gatewayUrl, sandboxFhirUrl } = options;
  const numbers = await sandboxNumbers(http, sandboxFhirUrl);
  if (numbers.length < options.quiet.numbers + options.concurrency) {
    throw new Error(`only ${numbers.length} numbers in the sandbox`);
  }
  // Warm-up of the direct side and the gateway's HTTP stack, without teaching the index a number.
  await runCount(options.concurrency, 200, async (i) => {
    const owner = numbers[i % numbers.length];
    if (owner === undefined) return;
    await http.request('GET', `${sandboxFhirUrl}/Patient/${owner.patientId}`);
    await http.request('GET', `${gatewayUrl}/v1/status`);
  });
  const round = (
    concurrency: number,
    owners: readonly NumberOwner[],
    requests: number,
    writeOffset: number,
  ): Promise<OverheadRound> =>
    overheadRound({ http, gatewayUrl, sandboxFhirUrl, concurrency, owners, requests, writeOffset, options });
  // The quiet round first, on numbers of its own, so the loaded one still finds its numbers unknown.
  const quiet = await round(
    options.quiet.concurrency,
    numbers.slice(0, options.quiet.numbers),
    options.quiet.requests,
    options.writeOffset,
  );
  const loaded = await round(
    options.concurrency,
    numbers.slice(options.quiet.numbers),
    options.requests,
    options.writeOffset + options.quiet.requests,
  );
  return { latencyMs: options.latencyMs, loaded, quiet };
}

async function overheadRound(r: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly sandboxFhirUrl: string;
  readonly concurrency: number;
  readonly owners: readonly NumberOwner[];
  readonly requests: number;
  readonly writeOffset: number;
  readonly options: { readonly gatewayPids: Pids; readonly directPids: Pids };
}): Promise<OverheadRound> {
  const { http, gatewayUrl, sandboxFhirUrl, owners } = r;
  const at = (i: number): NumberOwner => owners[i % owners.length] ?? { phone: '', patientId: '' };
  const searchUrl = (i: number): string =>
    `${sandboxFhirUrl}/Patient?phone=${encodeURIComponent(fhirSearchAlternatives(phoneSearchVariants(at(i).phone, 'US')))}&_count=20`;
  const lookupUrl = (i: number): string =>
    `${gatewayUrl}/v1/patients/lookup?phone=${encodeURIComponent(at(i).phone)}`;
  const readUrl = (i: number): string => `${sandboxFhirUrl}/Patient/${at(i).patientId}`;
  let firstFailure: string | undefined;
  const ok =
    (expected: number) =>
    (answer: { status: number; body: string }): boolean => {
      if (answer.status === expected) return true;
      firstFailure ??= `HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
      return false;
    };
  const measure = async (
    pids: Pids,
    total: number,
    request: (i: number) => Promise<boolean>,
  ): Promise<{ load: LoadResult; cpu: CpuUse }> => {
    const meter = cpuMeter(pids);
    const load = await runLoad(r.concurrency, total, request);
    return { load, cpu: meter.stop() };
  };
  const pair = (
    name: string,
    yardstick: string,
    gateway: { load: LoadResult; cpu: CpuUse },
    direct: { load: LoadResult; cpu: CpuUse },
    failure: string | undefined,
    paths?: string,
  ): OverheadPair => ({
    name,
    yardstick,
    gateway: gateway.load,
    direct: direct.load,
    gatewayCpu: gateway.cpu,
    directCpu: direct.cpu,
    firstFailure: failure,
    ...(paths !== undefined ? { paths } : {}),
  });

  // 1. Index misses: each number once through the gateway; the same searches straight.
  const missDirect = await measure(r.options.directPids, owners.length, async (i) =>
    ok(200)(await http.request('GET', searchUrl(i))),
  );
  const lookupPaths = async (): Promise<[Record<string, number>, Record<string, number>]> =>
    Promise.all([
      metricsByLabel(http, gatewayUrl, 'continuum_lookups_total', 'path'),
      metricsByLabel(http, gatewayUrl, 'continuum_phone_searches_total', 'query'),
    ]);
  const pathsOf = (
    before: [Record<string, number>, Record<string, number>],
    after: [Record<string, number>, Record<string, number>],
  ): string =>
    `answered by ${difference(before[0], after[0])}; phone searches ${difference(before[1], after[1])}`;
  const beforeMiss = await lookupPaths();
  const missGateway = await measure(r.options.gatewayPids, owners.length, async (i) =>
    ok(200)(await http.request('GET', lookupUrl(i))),
  );
  const missPaths = pathsOf(beforeMiss, await lookupPaths());
  const miss = pair(
    'lookup, number not in the index',
    'the same phone search',
    missGateway,
    missDirect,
    firstFailure,
    missPaths,
  );

  // 2. Index hits: the same numbers again (each is now known), against a read by id of its patient.
  firstFailure = undefined;
  const hitDirect = await measure(r.options.directPids, r.requests, async (i) =>
    ok(200)(await http.request('GET', readUrl(i))),
  );
  const beforeHit = await lookupPaths();
  const hitGateway = await measure(r.options.gatewayPids, r.requests, async (i) =>
    ok(200)(await http.request('GET', lookupUrl(i))),
  );
  const hitPaths = pathsOf(beforeHit, await lookupPaths());
  const hit = pair(
    'lookup, number in the index',
    'one read by id',
    hitGateway,
    hitDirect,
    firstFailure,
    hitPaths,
  );

  // 3. Acceptance, each write asking the EHR about its patient, against that read alone.
  firstFailure = undefined;
  const acceptDirect = await measure(r.options.directPids, r.requests, async (i) =>
    ok(200)(await http.request('GET', readUrl(i))),
  );
  const acceptGateway = await measure(r.options.gatewayPids, r.requests, async (i) => {
    const n = r.writeOffset + i;
    return ok(202)(
      await http.request('PATCH', `${gatewayUrl}/v1/patients/${at(i).patientId}`, writeBody(n), {
        'idempotency-key': `bench-overhead-${n}`,
      }),
    );
  });
  const acceptance = pair(
    'write acceptance (patient checked)',
    'the existence read',
    acceptGateway,
    acceptDirect,
    firstFailure,
  );
  return { concurrency: r.concurrency, numbers: owners.length, miss, hit, acceptance };
}

export function reportEhrLatencyOverhead(result: OverheadResult): string {
  const line = (p: OverheadPair): string[] => [
    `  ${p.name}: gateway p50 ${fmt(p.gateway.p50, 1)} ms p99 ${fmt(p.gateway.p99, 1)} ms (${fmt(p.gateway.perSecond, 0)}/s, errors ${p.gateway.errors}); ${p.yardstick} straight p50 ${fmt(p.direct.p50, 1)} ms p99 ${fmt(p.direct.p99, 1)} ms (${fmt(p.direct.perSecond, 0)}/s); added p50 ${fmt(p.gateway.p50 - p.direct.p50, 1)} ms, p99 ${fmt(p.gateway.p99 - p.direct.p99, 1)} ms`,
    ...(p.paths !== undefined ? [`    ${p.paths}`] : []),
    `    CPU per request, gateway: ${formatCpu(p.gatewayCpu, p.gateway.requests)}`,
    `    CPU per request, direct : ${formatCpu(p.directCpu, p.direct.requests)}`,
    ...(p.firstFailure !== undefined ? [`    first failure: ${p.firstFailure}`] : []),
  ];
  const round = (r: OverheadRound): string[] => [
    `${r.concurrency} clients, ${r.numbers} numbers new to the index:`,
    ...line(r.miss),
    ...line(r.hit),
    `    index-hit lookup p50 / direct read by id p50: ${fmt(r.hit.gateway.p50 / r.hit.direct.p50)}x`,
    ...line(r.acceptance),
  ];
  return [
    `overhead at realistic latency: sandbox answering in ${result.latencyMs} ms with room for every request`,
    ...round(result.loaded),
    ...round(result.quiet),
  ].join('\n');
}
