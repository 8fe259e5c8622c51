/**
 * The sandbox's capacity mode as the benchmarks drive it: an EHR that serves `concurrent` requests
 * at once, each for `latencyMs`, queues a few more and answers 429 past that
 * (adapters/ehr/sandbox/README.md). Its figures are counted by the sandbox itself, per window: a
 * window starts when the mode is set or reset, so each measured phase reads its own.
 */
import type { CapacityState, CapacityWindowReport } from '../adapters/ehr/sandbox';
import { setSandboxFaults, type HttpClient } from './bench-support';

/** One window of the sandbox's capacity figures (`GET /sandbox/admin/capacity`), as the sandbox reports it. */
export type CapacityWindow = CapacityWindowReport;
export type { CapacityState };

export interface CapacitySetting {
  readonly concurrent: number;
  readonly latencyMs: number;
  /** Requests that may wait for a slot before the sandbox answers 429; absent: twice `concurrent`. */
  readonly queueDepth?: number;
}

export async function setSandboxCapacity(
  http: HttpClient,
  sandboxOrigin: string,
  setting: CapacitySetting,
): Promise<void> {
  await setSandboxFaults(http, sandboxOrigin, { mode: 'capacity', ...setting });
}

export function sandboxCapacity(http: HttpClient, sandboxOrigin: string): Promise<CapacityState> {
  return http.json<CapacityState>('GET', `${sandboxOrigin}/sandbox/admin/capacity`);
}

/** Starts a new window; the answer's `previous` is the one just ended, read and reset at once. */
export function resetSandboxCapacity(http: HttpClient, sandboxOrigin: string): Promise<CapacityState> {
  return http.json<CapacityState>('POST', `${sandboxOrigin}/sandbox/admin/capacity/reset`);
}

/** The current window, or an error naming what is missing (the sandbox is not in capacity mode). */
export async function currentWindow(http: HttpClient, sandboxOrigin: string): Promise<CapacityWindow> {
  const state = await sandboxCapacity(http, sandboxOrigin);
  if (state.window === null) throw new Error('the sandbox is not in capacity mode');
  return state.window;
}
