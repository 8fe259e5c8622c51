/** The write pipeline's runtime state per connection, as /v1/status and the status history read it. */
import type { PipelineMonitor } from '../domain/ports';
import type { UseCaseRuntime } from './use-case-deps';

export function pipelineMonitor(runtime: UseCaseRuntime): PipelineMonitor {
  return {
    breaker: (name) => {
      const breaker = runtime.breakers.get(name);
      if (!breaker) throw new Error(`no breaker for ${name}`);
      return breaker.snapshot();
    },
    credentials: (name) => {
      const credentials = runtime.credentials.get(name);
      if (!credentials) throw new Error(`no credentials state for ${name}`);
      return credentials.snapshot();
    },
    drainRate: (name) => runtime.drainMeter.ratePerSecond(name),
    drainLimit: async (name) => runtime.drainLimits.get(name)?.snapshot(),
  };
}
