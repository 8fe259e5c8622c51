/**
 * The API role's sampler of the status history: every `statusHistory.intervalMs` each API process
 * samples every connection; the store keeps the first sample of each interval, so several API
 * processes do not multiply the history.
 */
import type { Config } from '../config/load-config';
import type { Logger } from '../domain/ports';
import { sampleStatusHistory } from '../use-cases/status-history';
import type { Closeables } from './closeables';
import { pipelineMonitor } from './pipeline-monitor';
import type { UseCaseRuntime } from './use-case-deps';

export function startStatusSampler(
  config: Config,
  runtime: UseCaseRuntime,
  logger: Logger,
  closeables: Closeables,
): void {
  const { intervalMs } = config.statusHistory;
  const monitor = pipelineMonitor(runtime);
  let running = false;
  const sample = (): void => {
    // A Redis slower than the interval must not pile samples up.
    if (running) return;
    running = true;
    sampleStatusHistory(runtime.deps, monitor, runtime.statusHistory, intervalMs)
      .catch((error: unknown) => {
        logger.warn({ err: error }, 'status history sample error');
      })
      .finally(() => {
        running = false;
      });
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  closeables.add('intake', 'status sampler', () => {
    clearInterval(timer);
    return Promise.resolve();
  });
}
