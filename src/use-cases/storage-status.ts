/**
 * The `storage` part of GET /v1/status: the write store's memory against its limit, and the
 * caller's own writes waiting against its cap (never another client's).
 */
import type { OperationOwner } from '../domain/operation';
import type { UseCaseDeps } from './use-case-deps';

export interface StorageStatus {
  readonly usedBytes: number;
  readonly limitBytes: number | null;
  /** Left before the limit. */
  readonly headroomBytes: number | null;
  /** Kept for queued writes to drain: new writes are refused once the headroom is within it. */
  readonly reservedBytes: number | null;
  readonly acceptingWrites: boolean;
  /** This client's writes not yet final. */
  readonly queuedWrites: number;
  /** How many it may have waiting; null: no cap. */
  readonly queuedWritesCap: number | null;
  readonly readAt: string | null;
}

export async function storageStatus(
  deps: Pick<UseCaseDeps, 'store' | 'storage'>,
  owner: OperationOwner,
): Promise<StorageStatus> {
  const memory = deps.storage.memory();
  const cap = deps.storage.queuedWritesCap(owner);
  return {
    usedBytes: memory.usedBytes,
    limitBytes: memory.limitBytes,
    headroomBytes: memory.headroomBytes,
    reservedBytes: memory.reservedBytes,
    acceptingWrites: memory.acceptingWrites,
    queuedWrites: await deps.store.queuedWrites(owner),
    queuedWritesCap: cap === 0 ? null : cap,
    readAt: memory.readAt,
  };
}
