/**
 * Patients the EHR confirmed recently (a read, a lookup, a write it accepted), per connection and
 * process. An agent's correction usually follows a screen pop of the same patient: checking that
 * patient against the EHR again before queueing costs a round trip on every write for no news.
 * The check only catches typos in patient ids early; the worker still meets a deleted or merged
 * patient and reports it on the receipt, so a short memory here risks nothing that matters.
 */
import { LRUCache } from 'lru-cache';

export interface ConfirmedPatients {
  has(patientId: string): boolean;
  remember(patientId: string): void;
  forget(patientId: string): void;
}

export interface ConfirmedPatientsOptions {
  /** How long a confirmation stands, in ms (0 = always ask the EHR). */
  readonly ttlMs: number;
  /** Patients remembered at most; the least recently used go first. */
  readonly maxEntries: number;
}

export function createConfirmedPatients(options: ConfirmedPatientsOptions): ConfirmedPatients {
  if (options.ttlMs <= 0) return { has: () => false, remember: () => undefined, forget: () => undefined };
  const cache = new LRUCache<string, true>({ max: options.maxEntries, ttl: options.ttlMs });
  return {
    has: (patientId) => cache.has(patientId),
    remember: (patientId) => {
      cache.set(patientId, true);
    },
    forget: (patientId) => {
      cache.delete(patientId);
    },
  };
}
