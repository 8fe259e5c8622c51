/**
 * The wait behind `Prefer: wait`, driven as the gateway wires it, on the real Redis and the sandbox
 * EHR: the record is read when the store's signal arrives, and when a signal is lost (pub/sub
 * delivers at most once) the periodic read still finds the final status.
 */
import { Redis } from 'ioredis';
import { createRedisFinalSignals } from '../../adapters/redis/final-signals';
import type { Operation } from '../../src/domain/operation';
import type { FinalSignals, OperationStore } from '../../src/domain/ports';
import { createLogger } from '../../src/observability/logger';
import { acceptWrite } from '../../src/use-cases/accept-write';
import { processOperation } from '../../src/use-cases/process-operation';
import { waitForFinal } from '../../src/use-cases/wait-for-final';
import { TEST_REDIS_URL } from '../support/redis';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';
import { waitFor } from '../support/wait-for';

let rig: UseCaseRig;
beforeAll(async () => {
  rig = await startUseCaseRig();
});
afterAll(async () => {
  await rig.stop();
});

async function queuedEmailChange(patient: string, email: string): Promise<Operation> {
  const payload = {
    kind: 'patient.update' as const,
    patientId: patient,
    changes: { email },
    baseVersion: undefined,
  };
  const context = {
    owner: { clientId: 'cl_test', tenant: 'default' },
    idempotencyKey: undefined,
    correlationId: undefined,
    requestId: undefined,
  };
  return (await acceptWrite(rig.deps, rig.connection, context, payload, payload)).operation;
}

/** The store, counting reads of records. */
function countingStore(store: OperationStore): { store: OperationStore; reads: () => number } {
  let reads = 0;
  return {
    store: {
      ...store,
      get: (id) => {
        reads += 1;
        return store.get(id);
      },
    },
    reads: () => reads,
  };
}

/** The signals, recording whether each wait between reads ended with a signal (true) or its timer. */
function recordingSignals(signals: FinalSignals): { signals: FinalSignals; woken: boolean[] } {
  const woken: boolean[] = [];
  return {
    signals: {
      async watch(id) {
        const watch = await signals.watch(id);
        return {
          next: async (ms) => {
            const signalled = await watch.next(ms);
            woken.push(signalled);
            return signalled;
          },
          stop: () => watch.stop(),
        };
      },
    },
    woken,
  };
}

it('is woken by the signal of the process that applied the write, and reads the final record', async () => {
  const op = await queuedEmailChange('pat-0005', 'signalled@example.org');
  const counted = countingStore(rig.deps.store);
  const recorded = recordingSignals(rig.deps.finalSignals);
  const waiting = waitForFinal({ store: counted.store, finalSignals: recorded.signals }, op, 10);
  await waitFor(() => Promise.resolve(counted.reads() >= 1 ? true : undefined), {
    intervalMs: 5,
    what: 'the first read',
  });

  expect(await processOperation(rig.deps, op.id)).toBe('succeeded');

  const final = await waiting;
  expect(final).toMatchObject({ id: op.id, status: 'succeeded' });
  expect(recorded.woken).toEqual([true]);
  expect(counted.reads()).toBe(2);
});

it('still finishes by the periodic read when the signal never arrives', async () => {
  const op = await queuedEmailChange('pat-0006', 'signal-lost@example.org');
  // Listening where nothing is published: every signal of this write is lost on the way.
  const deaf = createRedisFinalSignals({
    connect: () => new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null }),
    channel: `${rig.redis.prefix}:nothing-published-here`,
    subscribeDeadlineMs: 1000,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const counted = countingStore(rig.deps.store);
    const recorded = recordingSignals(deaf);
    const startedAt = Date.now();
    const waiting = waitForFinal({ store: counted.store, finalSignals: recorded.signals }, op, 10);
    await waitFor(() => Promise.resolve(counted.reads() >= 1 ? true : undefined), {
      intervalMs: 5,
      what: 'the first read',
    });

    expect(await processOperation(rig.deps, op.id)).toBe('succeeded');

    const final = await waiting;
    process.stdout.write(`without a signal the wait ended after ${Date.now() - startedAt} ms\n`);
    expect(final).toMatchObject({ id: op.id, status: 'succeeded' });
    expect(recorded.woken).toEqual([false]);
    expect(counted.reads()).toBe(2);
  } finally {
    await deaf.close();
  }
});
