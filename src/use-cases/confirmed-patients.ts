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
  /** `fingerprint`: a digest of what the EHR said about the patient, to tell a repeat from news. */
  remember(patientId: string, fingerprint?: string): void;
  /** True when the EHR said exactly this about the patient within the TTL. */
  sameAs(patientId: string, fingerprint: string): boolean;
  forget(patientId: string): void;
}

export interface ConfirmedPatientsOptions {
  /** How long a confirmation stands, in ms (0 = always ask the EHR). */
  readonly ttlMs: number;
  /** Patients remembered at most; the least recently used go first. */
  readonly maxEntries: number;
}

export function createConfirmedPatients(options: ConfirmedPatientsOptions): ConfirmedPatients {
  if (options.ttlMs <= 0) {
    return { has: () => false, remember: () => undefined, sameAs: () => false, forget: () => undefined };
  }
  // The value is the fingerprint of the last answer ('' when none was given).
  const cache = new LRUCache<string, string>({ max: options.maxEntries, ttl: options.ttlMs });
  return {
    has: (patientId) => cache.has(patientId),
    remember: (patientId, fingerprint) => {
      cache.set(patientId, fingerprint ?? '');
    },
    sameAs: (patientId, fingerprint) => cache.get(patientId) === fingerprint,
    forget: (patientId) => {
      cache.delete(patientId);
    },
  };
}
