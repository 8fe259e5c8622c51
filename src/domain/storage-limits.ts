/**
 * What the write store may still take. Two limits: queued writes per client (a client's backlog
 * while its EHR is down cannot crowd out every other client's), and the store's memory (Redis
 * runs `noeviction`: past its limit it refuses every write, the workers' receipts included, so new
 * writes are refused a margin before it, and what is queued can still drain).
 */
import type { OperationOwner } from './operation';

/** The write store's memory as last read: never read per write, so a second or so old. */
export interface StorageReading {
  readonly usedBytes: number;
  /** The limit: Redis's `maxmemory`, or `storage.maxMemoryBytes`; null when neither is set. */
  readonly limitBytes: number | null;
  /** Left before the limit (`limitBytes - usedBytes`, at least 0); null without a limit. */
  readonly headroomBytes: number | null;
  /** The part of the limit kept for queued writes to drain: new writes are refused inside it. */
  readonly reservedBytes: number | null;
  /** False once the headroom is within the reserve: new writes get 503 STORAGE_FULL. */
  readonly acceptingWrites: boolean;
  /** When the reading was taken; null before the first one. */
  readonly readAt: string | null;
}

export interface StorageLimits {
  /** The last memory reading (cached: costs nothing). */
  memory(): StorageReading;
  /** How many writes this client may have waiting (queued or sending) at once; 0 = no cap. */
  queuedWritesCap(owner: OperationOwner): number;
}

/** No limit known: every write is taken (until Redis itself refuses). */
export const UNLIMITED_READING: StorageReading = {
  usedBytes: 0,
  limitBytes: null,
  headroomBytes: null,
  reservedBytes: null,
  acceptingWrites: true,
  readAt: null,
};
