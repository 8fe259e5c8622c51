/**
 * Write acceptance: `PATCH /v1/patients/:id` through the API gateway (its own process, `--role api`,
 * so no worker sends EHR writes meanwhile) at 50 concurrent clients, against the raw BullMQ
 * `Queue.add` rate with 50 adds in flight, measured in the same run on the same Redis (AOF
 * everysec), with a job of about the same size as the request body, in its own queue and prefix.
 *
 * Why the comparison is fair: both sides end with the write durable in the same Redis; `Queue.add`
 * is the floor of any BullMQ-based acceptance, so the ratio is what the gateway's own work costs on
 * top (HTTP, validation, the existence read from the EHR, idempotency check, sealing, the store
 * script and the lane). The API is measured as the product is: every PATCH reads the patient from
 * the EHR first and carries an Idempotency-Key, as agents' tools send it.
 *
 * Where the time goes, measured alongside: the same PATCHes while the sandbox answers every FHIR
 * request at once with 503 (the existence read fails fast and the write is accepted anyway, as
 * during an outage), the existence read alone sent straight to the sandbox at the same
 * concurrency, and CPU per request of every process from /proc.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  cpuMeter,
  fmt,
  formatCpu,
  runLoad,
  type CpuUse,
  type HttpClient,
  type LoadResult,
} from './bench-support';
import { patientFor, writeBody, writeChanges } from './write-workload';

export interface MeasuredLoad {
  readonly load: LoadResult;
  readonly cpu: CpuUse;
  /** The first unexpected answer, for the report. */
  readonly firstFailure: string | undefined;
}

export type Pids = Readonly<Record<string, number | undefined>>;

/**
 * `total` PATCHes of writes offset..offset+total-1, each with its own Idempotency-Key, from
 * `concurrency` clients. Success is 202 (accepted and durable).
 */
export async function patchLoad(options: {
  readonly http: HttpClient;
  readonly gatewayUrl: string;
  readonly phase: string;
  readonly offset: number;
  readonly total: number;
  readonly concurrency: number;
  readonly pids: Pids;
  /** Patients the writes are spread over in turn; default 200. */
  readonly patients?: number;
}): Promise<MeasuredLoad> {
  let firstFailure: string | undefined;
  const meter = cpuMeter(options.pids);
  const load = await runLoad(options.concurrency, options.total, async (i) => {
    const n = options.offset + i;
    const answer = await options.http.request(
      'PATCH',
      `${options.gatewayUrl}/v1/patients/${patientFor(n, options.patients)}`,
      writeBody(n),
      { 'idempotency-key': `bench-${options.phase}-${n}` },
    );
    if (answer.status === 202) return true;
    firstFailure ??= `HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
    return false;
  });
  return { load, cpu: meter.stop(), firstFailure };
}

/** The existence check alone: `GET Patient/<id>` straight to the sandbox. */
export async function sandboxReadLoad(options: {
  readonly http: HttpClient;
  readonly sandboxFhirUrl: string;
  readonly total: number;
  readonly concurrency: number;
  readonly pids: Pids;
}): Promise<MeasuredLoad> {
  let firstFailure: string | undefined;
  const meter = cpuMeter(options.pids);
  const load = await runLoad(options.concurrency, options.total, async (i) => {
    const answer = await options.http.request('GET', `${options.sandboxFhirUrl}/Patient/${patientFor(i)}`);
    if (answer.status === 200) return true;
    firstFailure ??= `HTTP ${answer.status}`;
    return false;
  });
  return { load, cpu: meter.stop(), firstFailure };
}

/** What a job carrying the write itself would hold: ids plus the changes (~ the body's size). */
function rawJobData(i: number): Record<string, unknown> {
  return {
    operationId: `op_bench_raw_${String(i).padStart(8, '0')}`,
    connection: 'sandbox',
    patientId: patientFor(i),
    changes: writeChanges(i),
  };
}

export const RAW_JOB_BYTES = JSON.stringify(rawJobData(0)).length;

/** Raw `Queue.add` with `concurrency` in flight, in a queue and prefix of its own; removed afterwards. */
export async function rawAddLoad(options: {
  readonly redisUrl: string;
  readonly total: number;
  readonly warmup: number;
  readonly concurrency: number;
  readonly pids: Pids;
}): Promise<MeasuredLoad> {
  const connection = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue('bench-raw-add', { connection, prefix: '{bench-raw}' });
  let firstFailure: string | undefined;
  const add = async (i: number): Promise<boolean> => {
    try {
      await queue.add('patient.update', rawJobData(i));
      return true;
    } catch (error) {
      firstFailure ??= (error as Error).message;
      return false;
    }
  };
  try {
    await queue.waitUntilReady();
    await runLoad(options.concurrency, options.warmup, add);
    const meter = cpuMeter(options.pids);
    const load = await runLoad(options.concurrency, options.total, add);
    return { load, cpu: meter.stop(), firstFailure };
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    connection.disconnect();
  }
}

/** How close a process came to the rate one core allows it at its CPU cost per unit of work. */
export function cpuBound(name: string, seconds: number | undefined, units: number, measured: number): string {
  if (seconds === undefined || units <= 0 || seconds <= 0) return `  ${name}: CPU not measured (no /proc)`;
  const perUnit = seconds / units;
  return `  ${name} CPU ${fmt(perUnit * 1e6, 0)} µs per write: one core allows ${fmt(1 / perUnit, 0)}/s; measured ${fmt(measured, 0)}/s (${fmt(measured * perUnit * 100, 0)}% of a core)`;
}

function line(label: string, m: MeasuredLoad, unit: string): string {
  const { load } = m;
  const failure = m.firstFailure !== undefined ? `  first failure: ${m.firstFailure}` : '';
  return `  ${label.padEnd(44)}: ${fmt(load.perSecond, 0).padStart(6)} ${unit}/s  p50 ${fmt(load.p50)} ms  p99 ${fmt(load.p99)} ms  errors ${load.errors}${failure}`;
}

export interface AcceptanceResults {
  readonly concurrency: number;
  readonly bodyBytes: number;
  readonly rawAdd: MeasuredLoad;
  /** The product path: sandbox up, each PATCH reads the patient first. */
  readonly api: MeasuredLoad;
  /** The sandbox answers 503 at once: the existence read costs a round trip, no EHR work. */
  readonly apiEhrFailingFast: MeasuredLoad;
  /** GET Patient/<id> straight to the sandbox at the same concurrency. */
  readonly sandboxRead: MeasuredLoad;
  /** The same PATCHes to a bare express endpoint that only validates and adds the job. */
  readonly bare: MeasuredLoad;
}

export function reportAcceptance(r: AcceptanceResults): string {
  const ratio = r.api.load.perSecond / r.rawAdd.load.perSecond;
  const fastRatio = r.apiEhrFailingFast.load.perSecond / r.rawAdd.load.perSecond;
  const readShare = r.api.load.perSecond / r.sandboxRead.load.perSecond;
  return [
    `write acceptance, ${r.concurrency} concurrent clients, body ${r.bodyBytes} B JSON, raw job ${RAW_JOB_BYTES} B`,
    line(`raw BullMQ Queue.add (${r.rawAdd.load.requests})`, r.rawAdd, 'adds'),
    line(`API PATCH, EHR up (product path, ${r.api.load.requests})`, r.api, 'req'),
    line(
      `API PATCH, EHR answering 503 at once (${r.apiEhrFailingFast.load.requests})`,
      r.apiEhrFailingFast,
      'req',
    ),
    line(`bare express: validate + Queue.add (${r.bare.load.requests})`, r.bare, 'req'),
    line(`existence read alone, straight to sandbox (${r.sandboxRead.load.requests})`, r.sandboxRead, 'req'),
    `  CPU per write, raw add        : ${formatCpu(r.rawAdd.cpu, r.rawAdd.load.requests)}`,
    `  CPU per write, API (EHR up)   : ${formatCpu(r.api.cpu, r.api.load.requests)}`,
    `  CPU per write, API (EHR 503)  : ${formatCpu(r.apiEhrFailingFast.cpu, r.apiEhrFailingFast.load.requests)}`,
    `  CPU per write, bare endpoint  : ${formatCpu(r.bare.cpu, r.bare.load.requests)}`,
    `  CPU per read, sandbox direct  : ${formatCpu(r.sandboxRead.cpu, r.sandboxRead.load.requests)}`,
    `  API write acceptance = ${fmt(ratio)}x raw BullMQ add (p99 ${fmt(r.api.load.p99)} ms); with the EHR read failing fast ${fmt(fastRatio)}x (p99 ${fmt(r.apiEhrFailingFast.load.p99)} ms)`,
    `  bare endpoint = ${fmt(r.bare.load.perSecond / r.rawAdd.load.perSecond)}x raw add; the API reaches ${fmt(r.api.load.perSecond / r.bare.load.perSecond)}x the bare endpoint's rate`,
    `  acceptance rate = ${fmt(readShare)}x the sandbox's own rate for the existence read alone`,
    cpuBound('API process', r.api.cpu.api, r.api.load.requests, r.api.load.perSecond),
  ].join('\n');
}
