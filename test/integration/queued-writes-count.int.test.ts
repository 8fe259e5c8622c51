/**
 * The per-client count of writes waiting, kept by the store's own scripts: a write leaves it once,
 * when it becomes final, however many times that is saved; a write stored before counting began
 * (no entry) never takes another write's place in the count; writes accepted before clients
 * existed (no owner) are never counted nor refused; an operator's retry counts again until final.
 */
import { Redis } from 'ioredis';
import { transition, type Operation, type OperationStatus } from '../../src/domain/operation';
import { acceptWrite } from '../../src/use-cases/accept-write';
import { retryOperation } from '../../src/use-cases/operator-actions';
import { keysUnder, TEST_REDIS_URL } from '../support/redis';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';

const owner = { clientId: 'cl_counted', tenant: 'default' };
const tenant = { name: 'default', connections: ['sandbox'], locations: undefined };
let rig: UseCaseRig;
let redis: Redis;
beforeAll(async () => {
  rig = await startUseCaseRig({ overrides: { storage: { queuedWritesPerClient: 5 } } });
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await rig.stop();
});

async function accept(n: number): Promise<Operation> {
  const payload = {
    kind: 'patient.update' as const,
    patientId: `pat-00${10 + n}`,
    changes: { email: `count-${n}@example.org` },
    baseVersion: undefined,
  };
  const context = { owner, idempotencyKey: `count-${n}`, correlationId: undefined, requestId: undefined };
  return (await acceptWrite(rig.deps, rig.connection, context, payload, payload)).operation;
}

const moveTo = async (op: Operation, status: OperationStatus): Promise<Operation> => {
  const next = transition(op, { status }, new Date());
  await rig.deps.store.save(next);
  return next;
};

const counted = (): Promise<number> => rig.deps.store.queuedWrites(owner);

// A busy Redis holds other tests' keys too: one SCAN call may miss the set, so this scans to the end.
const waitingSets = (): Promise<string[]> => keysUnder(rig.prefix, ':waiting:*');

it('counts each waiting write once, leaves it once, and never counts what it did not count', async () => {
  const [one, two, three] = [await accept(1), await accept(2), await accept(3)];
  expect(await counted()).toBe(3);
  const sets = await waitingSets();
  expect(sets).toHaveLength(1);
  // The set's name does not carry the client id in clear.
  expect(sets[0]).not.toContain(owner.clientId);

  // `one` as if stored before counting began: its final save must not take `two`'s place.
  await redis.srem(sets[0]!, one.id);
  expect(await counted()).toBe(2);
  await moveTo(one, 'cancelled');
  expect(await counted()).toBe(2);

  // Final twice (a worker's save repeated after a lost answer): it leaves the count once.
  const twoDone = await moveTo(await moveTo(two, 'sending'), 'succeeded');
  await rig.deps.store.save(twoDone);
  expect(await counted()).toBe(1);

  const threeFailed = await moveTo(await moveTo(three, 'sending'), 'failed');
  expect(await counted()).toBe(0);
  // An operator's retry queues it again: counted until it is final again, then not.
  const retried = await retryOperation(rig.deps, three.id, tenant);
  expect(retried.status).toBe('queued');
  expect(await counted()).toBe(1);
  await moveTo(retried, 'succeeded');
  expect(await counted()).toBe(0);
  expect(threeFailed.status).toBe('failed');
});

it('never counts nor refuses writes accepted before clients existed', async () => {
  const before = await waitingSets();
  const template = await accept(4);
  await moveTo(template, 'succeeded');
  const { owner: _owner, ...ownerless } = template;
  const deadline = new Date(Date.now() + 5000);
  const results = await Promise.all(
    [1, 2].map((n) =>
      rig.deps.store.insert(
        { ...ownerless, id: `${template.id}-${n}`, idempotencyKey: undefined, status: 'queued' },
        deadline,
        { queuedWritesCap: 1 },
      ),
    ),
  );
  expect(results.map((r) => (r.refused === undefined ? 'created' : r.refused))).toEqual([
    'created',
    'created',
  ]);
  expect(await waitingSets()).toEqual(before);
  expect(await counted()).toBe(0);
});

it('refuses past the cap with nothing stored, not even the idempotency key', async () => {
  const ops = await Promise.all([5, 6, 7, 8, 9].map((n) => accept(n)));
  expect(await counted()).toBe(5);
  const stored = await rig.deps.store.count(rig.connection.name, 'queued');
  await expect(accept(10)).rejects.toMatchObject({ code: 'WRITE_QUOTA_EXCEEDED', retryAfterSeconds: 10 });
  expect(await rig.deps.store.findByIdempotencyKey(rig.connection.name, 'client:cl_counted:count-10')).toBe(
    undefined,
  );
  expect(await rig.deps.store.count(rig.connection.name, 'queued')).toBe(stored);
  for (const op of ops) await moveTo(op, 'cancelled');
  expect(await counted()).toBe(0);
  expect((await accept(10)).status).toBe('queued');
});
