/**
 * A stop that lands while the closure's run is queuing its writes. The run saves its record, then
 * looks for a stop; the stop records itself, then reads the record. Whichever comes second sees the
 * other, so no write the run queued escapes the stop. Here the run queues everything between the
 * stop's first look at the closure and the stop itself, the worst moment, and no worker sends
 * anything: every write the closure queued must end cancelled, none left to be sent.
 */
import type { Tenant } from '../../src/domain/access';
import type { ClosureStore } from '../../src/domain/closure';
import { closureView, stopClosure } from '../../src/use-cases/closure-progress';
import { runClosure } from '../../src/use-cases/run-closure';
import { submitClosure, type ClosureDeps } from '../../src/use-cases/site-closure';
import { startUseCaseRig, type UseCaseRig } from '../support/use-case-rig';

let rig: UseCaseRig;
beforeAll(async () => {
  rig = await startUseCaseRig();
}, 60_000);
afterAll(async () => {
  await rig.stop();
});

it('cancels every write the run queued when the stop lands while the run is queuing them', async () => {
  const base = rig.runtime.closures.deps;
  const tenant: Tenant = { name: 'default', connections: [rig.connection.name], locations: undefined };
  // The run goes from start to end just before the stop is recorded: after the stop's first read.
  const closures: ClosureStore = new Proxy(base.closures, {
    get(target, key, receiver) {
      if (key === 'stop') {
        return async (id: string, at: string) => {
          await runClosure(deps, id);
          return target.stop(id, at);
        };
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const deps: ClosureDeps = { ...base, closures };

  const from = new Date(Date.now() + 3_600_000).toISOString();
  const to = new Date(Date.now() + 21 * 86_400_000).toISOString();
  const { record } = await submitClosure(
    deps,
    tenant,
    { clientId: 'crisis-lead', tenant: tenant.name },
    {
      connection: rig.connection.name,
      locations: ['loc-0001'],
      from,
      to,
      action: 'cancel',
      mode: undefined,
      reason: 'weather',
      cancellationReason: undefined,
      callback: { priority: 'asap', window: undefined },
      activationId: undefined,
    },
    undefined,
  );
  expect(record.phase).toBe('finding');

  const view = await stopClosure(deps, record.id, tenant);
  expect(view.status).toBe('stopped');

  const stored = await base.closures.get(record.id);
  if (stored === undefined) throw new Error('the closure record is gone');
  const targets = stored.targets.filter((t) => t.refused === undefined);
  expect(targets.length).toBeGreaterThan(0);
  const callbacks = stored.callbacks.filter((c) => c.refused === undefined && c.operationId !== undefined);
  expect(callbacks.length).toBeGreaterThan(0);
  const statuses = await Promise.all(
    [...targets, ...callbacks].map(async (w) => (await base.store.get(w.operationId ?? ''))?.status),
  );
  // Nothing was sent, so nothing is owed: every change and every callback is cancelled.
  expect(statuses).toEqual(statuses.map(() => 'cancelled'));

  const settled = await closureView(base, stored);
  expect(settled.appointments).toMatchObject({ remaining: 0, done: 0, cancelled: targets.length });
  expect(settled.callbacks).toMatchObject({ remaining: 0, done: 0 });
}, 60_000);
