/**
 * Event subscribers serve a tenant: they hear what happens at their tenant's EHR connections and,
 * of the writes there, only their own tenant's, even when two tenants share one EHR.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/config/load-config';
import { transition, type Operation } from '../../src/domain/operation';
import { createLogger } from '../../src/observability/logger';
import { projectRoot } from '../../src/project-root';
import { breakerEvent, operationEvents } from '../../src/use-cases/call-center-events';
import { buildEventDelivery } from '../../src/wiring/event-delivery';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const keyPrefix = `t-${randomUUID().slice(0, 12)}`;
let redis: Redis;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
});
afterAll(async () => {
  redis.disconnect();
  await deletePrefix(keyPrefix);
});

function operation(connection: string, tenant: string): Operation {
  const now = new Date('2026-11-27T14:00:00Z');
  const op = {
    id: `op_${randomUUID().replace(/-/g, '').slice(0, 20)}`,
    kind: 'call.log',
    connection,
    lane: `${connection}:own`,
    patientId: 'pat-0001',
    payload: { kind: 'call.log' },
    mappingProfile: 'default',
    mappingHash: 'x',
    idempotencyKey: undefined,
    requestHash: 'x',
    correlationId: undefined,
    requestId: undefined,
    owner: { clientId: `cl_${tenant}`, tenant },
    status: 'sending',
    attempts: 1,
    lastError: undefined,
    resourceRef: 'Encounter/e1',
    resourceVersion: '1',
    history: [],
    review: undefined,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
  } as unknown as Operation;
  return transition(op, { status: 'succeeded' }, now);
}

it('hands each subscriber only its tenant’s connections’ events and its own tenant’s writes', async () => {
  const webhook = (name: string, tenant?: string) => ({
    kind: 'webhook',
    name,
    url: 'http://127.0.0.1:9/events',
    secret: SECRET,
    ...(tenant !== undefined ? { tenant } : {}),
  });
  const config = loadConfig({
    env: { REDIS_URL: TEST_REDIS_URL },
    builtInMappingsDir: join(projectRoot(), 'mappings'),
    overrides: {
      sandbox: { enabled: true },
      connections: { shared: {}, own: {} },
      tenants: {
        north: { connections: ['shared', 'own'] },
        south: { connections: ['shared'] },
      },
      auth: { adminTenant: 'north' },
      events: {
        subscribers: [webhook('north-desk', 'north'), webhook('south-desk', 'south'), webhook('ops')],
      },
    },
  });
  const delivery = buildEventDelivery(config, {
    connection: redis,
    prefix: `{${keyPrefix}}`,
    logger: createLogger({ level: 'silent' }),
    connections: () => new Map(),
  });
  try {
    const events = [
      ...operationEvents(operation('shared', 'north')),
      ...operationEvents(operation('shared', 'south')),
      ...operationEvents(operation('own', 'north')),
      breakerEvent('shared', 'open', '2026-11-27T14:00:00Z'),
      breakerEvent('own', 'open', '2026-11-27T14:00:00Z'),
    ];
    for (const e of events) await delivery.publish(e);
    const waiting = Object.fromEntries((await delivery.states()).map((s) => [s.name, s.waiting]));
    // north: its two writes (one event each) and both breakers; south: its write and the shared breaker.
    expect(waiting).toEqual({ 'north-desk': 4, 'south-desk': 2, ops: 4 });
  } finally {
    await delivery.close();
  }
});

it('refuses a subscriber naming a tenant that does not exist', () => {
  expect(() =>
    loadConfig({
      env: {},
      builtInMappingsDir: join(projectRoot(), 'mappings'),
      overrides: {
        events: {
          subscribers: [
            { kind: 'webhook', name: 'x', url: 'http://127.0.0.1:9/e', secret: SECRET, tenant: 'nope' },
          ],
        },
      },
    }),
  ).toThrow(/events\.subscribers\.x\.tenant: no tenant named "nope"/);
});
