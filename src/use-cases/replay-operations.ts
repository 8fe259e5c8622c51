/**
 * Bulk replay of failed / needs-review writes after their cause is fixed. A dry run says what would
 * be sent and the duplicate risk, and changes nothing. A real run re-queues operations oldest
 * first at a capped rate (each goes to the tail of its patient's lane, so lane order and the
 * exactly-once checks hold as for any write) and can be stopped at any moment. A run lives in the
 * API process that started it: if that process stops, the run stops, and what it had not reached
 * stays failed and visible, ready for another replay.
 */
import { randomUUID } from 'node:crypto';
import { ContinuumError } from '../domain/errors';
import type { Operation } from '../domain/operation';
import { retryOperation } from './operator-actions';
import type { Tenant } from '../domain/access';
import type { UseCaseDeps } from './use-case-deps';

export interface ReplayFilter {
  /** A replay only ever touches the writes of the tenant that asked for it. */
  readonly tenant: Tenant;
  readonly connection: string;
  readonly statuses: readonly ('failed' | 'needs-review')[];
  readonly since?: Date;
  readonly limit: number;
}

export interface ReplayPlan {
  readonly count: number;
  readonly operations: readonly {
    readonly operationId: string;
    readonly kind: string;
    readonly patientId: string | null;
    readonly status: string;
    readonly lastErrorCode: string | null;
    readonly attempts: number;
  }[];
  /** Operations whose earlier attempt may have reached the EHR; each is re-read before anything is sent. */
  readonly duplicateRisk: { readonly count: number; readonly note: string };
}

export interface ReplayRun {
  readonly replayId: string;
  readonly state: 'running' | 'stopped' | 'finished';
  readonly total: number;
  readonly requeued: number;
  readonly skipped: number;
  readonly ratePerSecond: number;
  readonly startedAt: string;
}

async function select(deps: Pick<UseCaseDeps, 'store'>, filter: ReplayFilter): Promise<Operation[]> {
  const found = await Promise.all(
    filter.statuses.map((status) =>
      deps.store.query({
        connection: filter.connection,
        tenant: filter.tenant.name,
        status,
        limit: filter.limit,
        ...(filter.since ? { since: filter.since } : {}),
      }),
    ),
  );
  return found
    .flat()
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
    .slice(0, filter.limit);
}

export async function planReplay(
  deps: Pick<UseCaseDeps, 'store'>,
  filter: ReplayFilter,
): Promise<ReplayPlan> {
  const ops = await select(deps, filter);
  const maybeApplied = ops.filter((op) => op.lastError?.retryable === true);
  return {
    count: ops.length,
    operations: ops.map((op) => ({
      operationId: op.id,
      kind: op.kind,
      patientId: op.patientId ?? null,
      status: op.status,
      lastErrorCode: op.lastError?.code ?? null,
      attempts: op.attempts,
    })),
    duplicateRisk: {
      count: maybeApplied.length,
      note:
        'operations whose last failure was a timeout or outage may have reached the EHR; each is read back ' +
        'and compared before anything is sent, so none is applied twice',
    },
  };
}

/** Replay runs of this process, by id. Created by the composition root, passed to the routes. */
export class ReplayRegistry {
  private readonly runs = new Map<string, { run: ReplayRun; stop: boolean; tenant: string }>();

  /** Another tenant's run is answered like one that does not exist. */
  private entry(id: string, tenant: Tenant): { run: ReplayRun; stop: boolean } {
    const entry = this.runs.get(id);
    if (!entry || entry.tenant !== tenant.name) {
      throw new ContinuumError('NOT_FOUND', { detail: 'no replay run with this id in this process' });
    }
    return entry;
  }

  get(id: string, tenant: Tenant): ReplayRun {
    return this.entry(id, tenant).run;
  }

  /** This tenant's runs in this process, newest first: runs started through another API process are not here. */
  list(tenant: Tenant, limit = 50): readonly ReplayRun[] {
    return [...this.runs.values()]
      .filter((entry) => entry.tenant === tenant.name)
      .map((entry) => entry.run)
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .slice(0, limit);
  }

  stop(id: string, tenant: Tenant): ReplayRun {
    const entry = this.entry(id, tenant);
    entry.stop = true;
    return entry.run;
  }

  stopAll(): void {
    for (const entry of this.runs.values()) entry.stop = true;
  }

  async start(
    deps: Pick<UseCaseDeps, 'store' | 'queue' | 'clock' | 'logger' | 'connections'>,
    filter: ReplayFilter,
    ratePerSecond: number,
  ): Promise<ReplayRun> {
    const ops = await select(deps, filter);
    const replayId = `rp_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
    const entry = {
      run: {
        replayId,
        state: 'running' as ReplayRun['state'],
        total: ops.length,
        requeued: 0,
        skipped: 0,
        ratePerSecond,
        startedAt: deps.clock.now().toISOString(),
      },
      stop: false,
      tenant: filter.tenant.name,
    };
    this.runs.set(replayId, entry);
    deps.logger.info({ replayId, total: ops.length, ratePerSecond }, 'replay started');
    const pace = 1000 / ratePerSecond;
    const runAll = async (): Promise<void> => {
      for (const op of ops) {
        if (entry.stop) break;
        try {
          // Each write goes with the profile version it was accepted under, as a queued write would.
          await retryOperation(deps, op.id, filter.tenant, { note: `replayed (${replayId})`, repin: false });
          entry.run = { ...entry.run, requeued: entry.run.requeued + 1 };
        } catch {
          // Someone retried or finished it meanwhile: nothing to replay.
          entry.run = { ...entry.run, skipped: entry.run.skipped + 1 };
        }
        await new Promise((resolve) => setTimeout(resolve, pace));
      }
      entry.run = { ...entry.run, state: entry.stop ? 'stopped' : 'finished' };
      deps.logger.info({ replayId, requeued: entry.run.requeued, state: entry.run.state }, 'replay ended');
    };
    runAll().catch((error: unknown) => {
      entry.run = { ...entry.run, state: 'stopped' };
      deps.logger.error({ replayId, err: error }, 'replay stopped by an error');
    });
    return entry.run;
  }
}
