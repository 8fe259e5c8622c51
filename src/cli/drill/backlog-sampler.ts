/** Samples `GET /v1/status` through the drill: the write backlog and the breaker over time. */
import { field, type DrillHttp } from './drill-http';
import type { BacklogSample } from './drill-records';

function sampleOf(body: unknown, atMs: number): BacklogSample | undefined {
  const connections = field(body, 'connections');
  if (typeof connections !== 'object' || connections === null) return undefined;
  let backlog = 0;
  let oldest: number | null = null;
  const breakers: string[] = [];
  for (const status of Object.values(connections as Record<string, unknown>)) {
    const queued = field(status, 'queue', 'queued');
    const sending = field(status, 'queue', 'sending');
    backlog += (typeof queued === 'number' ? queued : 0) + (typeof sending === 'number' ? sending : 0);
    const age = field(status, 'queue', 'oldestPendingAgeSeconds');
    if (typeof age === 'number') oldest = Math.max(oldest ?? 0, age);
    const breaker = field(status, 'breaker', 'state');
    if (typeof breaker === 'string') breakers.push(breaker);
  }
  // The worst breaker speaks for the gateway: one open connection is an outage to its callers.
  const breaker = breakers.includes('open')
    ? 'open'
    : breakers.includes('half-open')
      ? 'half-open'
      : 'closed';
  return { atMs, backlog, breaker, oldestPendingAgeSeconds: oldest };
}

export interface BacklogSampler {
  readonly samples: BacklogSample[];
  /** One sample now; resolves with it (undefined when the gateway did not answer). */
  sampleNow(): Promise<BacklogSample | undefined>;
  stop(): Promise<void>;
}

export function startBacklogSampler(
  http: DrillHttp,
  elapsed: () => number,
  intervalMs: number,
): BacklogSampler {
  const samples: BacklogSample[] = [];
  const state = { stopped: false };
  const sampleNow = async () => {
    const atMs = elapsed();
    const res = await http.request('GET', '/v1/status', { timeoutMs: 5_000 });
    const sample = res.status === 200 ? sampleOf(res.body, Math.round(atMs)) : undefined;
    if (sample !== undefined) samples.push(sample);
    return sample;
  };
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!state.stopped) {
      await sampleNow();
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, intervalMs).unref();
      });
    }
  })();
  return {
    samples,
    sampleNow,
    async stop() {
      state.stopped = true;
      wake?.();
      await loop;
    },
  };
}
