/**
 * Screen-pop lookup: `GET /v1/patients/lookup?phone=` through the gateway vs the same FHIR search
 * (`Patient?phone=<every stored format>`) sent straight to the sandbox, at the same concurrency,
 * measured side by side in one run. The gateway adds normalisation, the phone index and mapping.
 *
 * Why the comparison is fair: the direct side sends the very search the gateway sends for the
 * same numbers (every format the number may be stored in, as comma-separated alternatives), from
 * the same load generator and client, to the same sandbox process, after the same warm-up; the
 * difference is what the gateway's hop and work cost a caller.
 */
import { fhirSearchAlternatives, phoneSearchVariants } from '../src/phone';
import { fmt, runLoad, type LoadResult } from './bench-support';

export interface LookupBenchOptions {
  readonly gatewayUrl: string;
  readonly sandboxFhirUrl: string;
  readonly concurrency: number;
  readonly requests: number;
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

export async function benchLookup(
  options: LookupBenchOptions,
): Promise<{ direct: LoadResult; gateway: LoadResult }> {
  const phones = await samplePhones(options.sandboxFhirUrl);
  const pick = (i: number): string => phones[i % phones.length] ?? '+16175550100';
  const directUrl = (i: number): string =>
    `${options.sandboxFhirUrl}/Patient?phone=${encodeURIComponent(fhirSearchAlternatives(phoneSearchVariants(pick(i), 'US')))}&_count=20`;
  const gatewayUrl = (i: number): string =>
    `${options.gatewayUrl}/v1/patients/lookup?phone=${encodeURIComponent(pick(i))}`;
  const get = async (url: string): Promise<boolean> => {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.ok;
  };

  // Warm both paths (JIT, connection pools, phone index) before measuring.
  await runLoad(options.concurrency, Math.min(500, options.requests), (i) => get(directUrl(i)));
  await runLoad(options.concurrency, Math.min(500, options.requests), (i) => get(gatewayUrl(i)));
  const direct = await runLoad(options.concurrency, options.requests, (i) => get(directUrl(i)));
  const gateway = await runLoad(options.concurrency, options.requests, (i) => get(gatewayUrl(i)));
  return { direct, gateway };
}

export function reportLookup(
  { direct, gateway }: { direct: LoadResult; gateway: LoadResult },
  concurrency: number,
): string {
  return [
    `screen-pop lookup, ${concurrency} concurrent callers, ${direct.requests} requests each`,
    `  direct sandbox search : p50 ${fmt(direct.p50)} ms  p99 ${fmt(direct.p99)} ms  ${fmt(direct.perSecond, 0)} req/s  errors ${direct.errors}`,
    `  through the gateway   : p50 ${fmt(gateway.p50)} ms  p99 ${fmt(gateway.p99)} ms  ${fmt(gateway.perSecond, 0)} req/s  errors ${gateway.errors}`,
    `  ratio gateway/direct  : p50 ${fmt(gateway.p50 / direct.p50)}x (+${fmt(gateway.p50 - direct.p50)} ms)  p99 ${fmt(gateway.p99 / direct.p99)}x  throughput ${fmt(gateway.perSecond / direct.perSecond)}x`,
  ].join('\n');
}
