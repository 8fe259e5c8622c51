/**
 * Backlog drain: a backlog of queued writes (BENCH_BACKLOG, default 10,000, built through the API
 * while no worker runs) is drained by a worker process started for it (`--role worker`,
 * `queue.concurrency` from bench.config.yaml, no writes-per-second cap), timed from the moment the
 * worker is ready until `GET /v1/status` shows nothing queued or sending, against the same FHIR
 * requests sent straight to the sandbox at the same concurrency.
 *
 * Why the comparison is fair: per write both sides send exactly what the worker sends, a
 * `GET Patient/<id>` and a `PUT` with `If-Match` on the version read (read again on 412), with the
 * same changes, to the same sandbox process, with at most `concurrency` writes in flight, and both
 * keep the gateway's order guarantee: writes for one patient go one at a time, in order (the
 * gateway's lanes). The direct side uses a lean keep-alive client and computes the new Patient in
 * a few lines; the gateway's extra work per write (its Redis records and lane, sealing, the mapping
 * engine, its FHIR client, the phone index) is the overhead this ratio shows. Both run while the
 * other is idle; the direct run goes first, so the sandbox holds more versions during the drain.
 */
import {
  cpuMeter,
  fmt,
  formatCpu,
  pollUntil,
  type CpuUse,
  type HttpClient,
  type Proc,
} from './bench-support';
import { cpuBound, type Pids } from './write-acceptance.bench';
import { applyToFhir, patientFor, type FhirPatient } from './write-workload';

export interface DirectWritesResult {
  readonly writes: number;
  readonly seconds: number;
  readonly perSecond: number;
  /** 412 answers that made a write read the patient again. */
  readonly conflicts: number;
  readonly errors: number;
  readonly firstFailure: string | undefined;
  readonly cpu: CpuUse;
}

/**
 * Writes offset..offset+total-1 sent straight to the sandbox, `concurrency` at a time, one at a
 * time per patient and in order (lanes), each `GET` then `PUT` with `If-Match`.
 */
export async function directSandboxWrites(options: {
  readonly http: HttpClient;
  readonly sandboxFhirUrl: string;
  readonly offset: number;
  readonly total: number;
  readonly concurrency: number;
  readonly pids: Pids;
  /** The patient write n goes to; default the workload's pat-0001..pat-0200 in turn. */
  readonly patient?: (n: number) => string;
}): Promise<DirectWritesResult> {
  const { http, sandboxFhirUrl } = options;
  const patient = options.patient ?? ((n: number) => patientFor(n));
  const lanes = new Map<string, number[]>();
  for (let i = 0; i < options.total; i++) {
    const n = options.offset + i;
    const lane = lanes.get(patient(n));
    if (lane) lane.push(n);
    else lanes.set(patient(n), [n]);
  }
  const ready = [...lanes.keys()];
  let waiters: (() => void)[] = [];
  let remaining = options.total;
  let conflicts = 0;
  let errors = 0;
  let firstFailure: string | undefined;

  const sendOne = async (patientId: string, n: number): Promise<void> => {
    const url = `${sandboxFhirUrl}/Patient/${patientId}`;
    for (let attempt = 1; attempt <= 5; attempt++) {
      const read = await http.request('GET', url);
      if (read.status !== 200) {
        firstFailure ??= `GET HTTP ${read.status}`;
        continue;
      }
      const current = JSON.parse(read.body) as FhirPatient;
      const put = await http.request('PUT', url, JSON.stringify(applyToFhir(current, n)), {
        'content-type': 'application/fhir+json',
        'if-match': `W/"${current.meta?.versionId ?? ''}"`,
      });
      if (put.status === 200) return;
      if (put.status === 412) conflicts++;
      else firstFailure ??= `PUT HTTP ${put.status} ${put.body.slice(0, 200)}`;
    }
    errors++;
  };

  const meter = cpuMeter(options.pids);
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (remaining > 0) {
        const patientId = ready.shift();
        if (patientId === undefined) {
          await new Promise<void>((resolve) => waiters.push(resolve));
          continue;
        }
        const lane = lanes.get(patientId) ?? [];
        const n = lane.shift();
        if (n !== undefined) await sendOne(patientId, n);
        remaining--;
        if (lane.length > 0) ready.push(patientId);
        const waking = waiters;
        waiters = [];
        for (const wake of waking) wake();
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    writes: options.total,
    seconds,
    perSecond: options.total / seconds,
    conflicts,
    errors,
    firstFailure,
    cpu: meter.stop(),
  };
}

export interface QueueCounts {
  readonly queued: number;
  readonly sending: number;
  readonly failed: number;
  readonly needsReview: number;
}

export async function queueCounts(
  http: HttpClient,
  gatewayUrl: string,
  connection: string,
): Promise<QueueCounts> {
  const status = await http.json<{ connections: Record<string, { queue: QueueCounts } | undefined> }>(
    'GET',
    `${gatewayUrl}/v1/status`,
  );
  const queue = status.connections[connection]?.queue;
  if (!queue) throw new Error(`GET /v1/status has no connection ${connection}`);
  return queue;
}

export interface DrainResult {
  /** Writes queued or sending when the worker became ready: the ones this drain timed. */
  readonly pendingAtStart: number;
  /** From the worker being ready to nothing queued or sending. */
  readonly seconds: number;
  readonly perSecond: number;
  /** From spawning the worker process (its start-up included). */
  readonly secondsFromSpawn: number;
  readonly final: QueueCounts;
  readonly cpu: CpuUse;
  readonly timedOut: boolean;
}

/**
 * Starts a worker process and polls the API's status until nothing is queued or sending, or the
 * deadline passes (then the rate is of what was drained by then). The worker is stopped either way.
 */
export async function measureDrain(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly connection: string;
  readonly startWorker: () => Promise<Proc>;
  readonly pids: (worker: Proc) => Pids;
  readonly deadlineMs: number;
}): Promise<DrainResult> {
  const spawned = Date.now();
  const worker = await options.startWorker();
  try {
    const meter = cpuMeter(options.pids(worker));
    const t0 = process.hrtime.bigint();
    const first = await queueCounts(options.http, options.gatewayUrl, options.connection);
    const pendingAtStart = first.queued + first.sending;
    let last = first;
    let timedOut = false;
    await pollUntil(
      'backlog drain',
      async () => {
        last = await queueCounts(options.http, options.gatewayUrl, options.connection);
        return last.queued + last.sending === 0 ? last : undefined;
      },
      options.deadlineMs,
      200,
    ).catch(() => {
      timedOut = true;
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = meter.stop();
    const drained = pendingAtStart - (last.queued + last.sending);
    return {
      pendingAtStart,
      seconds,
      perSecond: drained / seconds,
      secondsFromSpawn: (Date.now() - spawned) / 1000,
      final: last,
      cpu,
      timedOut,
    };
  } finally {
    await worker.stop();
  }
}

export function reportDrain(
  direct: DirectWritesResult,
  drain: DrainResult,
  concurrency: number,
  /** FHIR requests the sandbox saw during each run: both should send the same per write. */
  sandboxRequests: { readonly direct: number; readonly drain: number },
): string {
  const ratio = drain.perSecond / direct.perSecond;
  const drained = Math.max(1, drain.pendingAtStart - (drain.final.queued + drain.final.sending));
  const failure = direct.firstFailure !== undefined ? `  first failure: ${direct.firstFailure}` : '';
  return [
    `backlog drain, ${drain.pendingAtStart} queued writes, concurrency ${concurrency} (worker's queue.concurrency)`,
    `  direct sandbox writes (GET + PUT If-Match) : ${fmt(direct.perSecond, 0).padStart(5)} writes/s  ${fmt(direct.seconds, 1)} s for ${direct.writes}  412 re-reads ${direct.conflicts}  errors ${direct.errors}${failure}`,
    `  gateway worker draining the backlog        : ${fmt(drain.perSecond, 0).padStart(5)} writes/s  ${fmt(drain.seconds, 1)} s from worker ready (${fmt(drain.secondsFromSpawn, 1)} s from spawn)${drain.timedOut ? '  DEADLINE PASSED' : ''}`,
    `  FHIR requests the sandbox saw per write: direct ${fmt(sandboxRequests.direct / direct.writes)}, drain ${fmt(sandboxRequests.drain / drained)}`,
    `  after the drain: queued ${drain.final.queued}, sending ${drain.final.sending}, failed ${drain.final.failed}, needs-review ${drain.final.needsReview}`,
    `  CPU per write, direct : ${formatCpu(direct.cpu, direct.writes)}`,
    `  CPU per write, drain  : ${formatCpu(drain.cpu, drained)}`,
    cpuBound('worker process', drain.cpu.worker, drained, drain.perSecond),
    cpuBound('sandbox (direct run)', direct.cpu.sandbox, direct.writes, direct.perSecond),
    `  backlog drain = ${fmt(ratio)}x direct sandbox writes`,
  ].join('\n');
}
