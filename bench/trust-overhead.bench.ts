/**
 * What the audit trail and rate limits cost: the same lookups and the same write acceptances sent
 * to two API processes on the same Redis and the same EHR, one with the trail and limits on (as
 * shipped) and one with both off, in alternating rounds (on/off, then off/on) so that the machine's
 * drift falls on both alike. Reported as ratios of throughput and of API CPU per request.
 */
import { cpuMeter, fmt, runLoad, type HttpClient, type LoadResult } from './bench-support';
import { patientFor, writeBody } from './write-workload';

export interface TrustOverheadOptions {
  readonly http: HttpClient;
  readonly on: { readonly url: string; readonly pid: number | undefined };
  readonly off: { readonly url: string; readonly pid: number | undefined };
  readonly phones: readonly string[];
  readonly concurrency: number;
  readonly rounds: number;
  readonly perRound: number;
  /** Write numbers start here, so the writes are new to both processes. */
  readonly offset: number;
  /** The benchmark client's credential, presented to both processes. */
  readonly authorization: string;
}

interface Side {
  requests: number;
  errors: number;
  seconds: number;
  cpuSeconds: number;
  p50s: number[];
  firstFailure: string | undefined;
}

export interface TrustOverheadResult {
  readonly lookup: { readonly on: Side; readonly off: Side };
  readonly write: { readonly on: Side; readonly off: Side };
  readonly perRound: number;
  readonly rounds: number;
}

const empty = (): Side => ({
  requests: 0,
  errors: 0,
  seconds: 0,
  cpuSeconds: 0,
  p50s: [],
  firstFailure: undefined,
});

function add(side: Side, load: LoadResult, cpu: number | undefined): void {
  side.requests += load.requests;
  side.errors += load.errors;
  side.seconds += load.seconds;
  side.cpuSeconds += cpu ?? 0;
  side.p50s.push(load.p50);
}

export async function benchTrustOverhead(options: TrustOverheadOptions): Promise<TrustOverheadResult> {
  const result = {
    lookup: { on: empty(), off: empty() },
    write: { on: empty(), off: empty() },
  };
  const sides = { on: options.on, off: options.off };
  // Round 0 warms both processes (JIT, connections, caches) and is not counted.
  for (let round = -1; round < options.rounds; round++) {
    const order: ('on' | 'off')[] = round % 2 === 0 ? ['on', 'off'] : ['off', 'on'];
    const r = round + 1;
    for (const name of order) {
      const target = sides[name];
      const side = result.lookup[name];
      const meter = cpuMeter({ api: target.pid });
      const load = await runLoad(options.concurrency, options.perRound, async (i) => {
        const phone = options.phones[(r * options.perRound + i) % options.phones.length] ?? '';
        const answer = await options.http.request(
          'GET',
          `${target.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`,
          undefined,
          { authorization: options.authorization },
        );
        if (answer.status === 200) return true;
        side.firstFailure ??= `HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
        return false;
      });
      const cpu = meter.stop().api;
      if (round >= 0) add(side, load, cpu);
    }
    for (const name of order) {
      const target = sides[name];
      const side = result.write[name];
      const base = options.offset + (r * 2 + (name === 'on' ? 0 : 1)) * options.perRound;
      const meter = cpuMeter({ api: target.pid });
      const load = await runLoad(options.concurrency, options.perRound, async (i) => {
        const n = base + i;
        const answer = await options.http.request(
          'PATCH',
          `${target.url}/v1/patients/${patientFor(n)}`,
          writeBody(n),
          {
            'idempotency-key': `bench-trust-${name}-${n}`,
            authorization: options.authorization,
          },
        );
        if (answer.status === 202) return true;
        side.firstFailure ??= `HTTP ${answer.status} ${answer.body.slice(0, 200)}`;
        return false;
      });
      const cpu = meter.stop().api;
      if (round >= 0) add(side, load, cpu);
    }
  }
  return { ...result, perRound: options.perRound, rounds: options.rounds };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};

/** Throughput with the trail and limits on, as a share of it with both off (1.0 = no cost). */
export function trustRatios(r: TrustOverheadResult): { readonly lookup: number; readonly write: number } {
  const rate = (s: Side): number => s.requests / s.seconds;
  return { lookup: rate(r.lookup.on) / rate(r.lookup.off), write: rate(r.write.on) / rate(r.write.off) };
}

export function reportTrustOverhead(r: TrustOverheadResult, concurrency: number): string {
  const ratios = trustRatios(r);
  const line = (what: string, on: Side, off: Side, ratio: number): string => {
    const cpuOn = (on.cpuSeconds * 1e6) / on.requests;
    const cpuOff = (off.cpuSeconds * 1e6) / off.requests;
    return [
      `  ${what}: on ${fmt(on.requests / on.seconds, 0)}/s vs off ${fmt(off.requests / off.seconds, 0)}/s = ${fmt(ratio, 3)}x`,
      `(p50 ${fmt(median(on.p50s), 1)} vs ${fmt(median(off.p50s), 1)} ms; API CPU ${fmt(cpuOn, 0)} vs ${fmt(cpuOff, 0)} µs/request = ${fmt(cpuOn / cpuOff, 3)}x;`,
      `errors ${on.errors}/${off.errors}${on.firstFailure !== undefined ? `, first: ${on.firstFailure}` : ''}${off.firstFailure !== undefined ? `, first off: ${off.firstFailure}` : ''})`,
    ].join(' ');
  };
  return [
    `Audit trail and rate limits, on vs off (two API processes, ${r.rounds} alternating rounds of ${r.perRound}, concurrency ${concurrency}):`,
    line('lookup', r.lookup.on, r.lookup.off, ratios.lookup),
    line('write acceptance', r.write.on, r.write.off, ratios.write),
  ].join('\n');
}
