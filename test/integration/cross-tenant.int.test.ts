/**
 * Tenants confine a client to its own writes. Client A (tenant `default`) makes several writes
 * with Idempotency-Keys; clients of two other tenants, each holding every scope, then try every
 * way to see or act on them: `south` has a connection of its own, `east` shares A's connection
 * (the harder case: the connection is theirs too, only the writes are not). Every response they
 * get is inspected; none may reveal or touch one of A's writes, and A's writes must be exactly as
 * they were afterwards. Idempotency keys are scoped per client, also within one tenant.
 */
import request from 'supertest';
import { OPERATION_STATUSES, transition, type Operation } from '../../src/domain/operation';
import { SCOPES } from '../../src/domain/access';
import { accessToken, createClient, type TestClient } from '../support/client-credentials';
import { startInProcessApi, type InProcessApi } from '../support/in-process-api';
import { twoTenantConfig } from '../support/two-tenants';
import { waitFor } from '../support/wait-for';

const CONFIG = twoTenantConfig({ east: { connections: ['sandbox'] } });

interface Write {
  readonly method: 'POST' | 'PATCH';
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly key: string;
  /**
   * What an intruder's two clients send under the same key: the same request (for a booking, A's
   * slot is held, so another one) and another request.
   */
  readonly intruderBodies: readonly [Record<string, unknown>, Record<string, unknown>];
}

interface Probe {
  readonly who: string;
  readonly what: string;
  readonly status: number;
  readonly why: string;
}

let api: InProcessApi;
let a: TestClient;
let a2: TestClient;
let intruders: {
  readonly name: 'south' | 'east';
  readonly client: TestClient;
  /** Another client of the intruder's tenant: it sends A's keys with other bodies. */
  readonly second: TestClient;
  readonly token: string;
}[];
let writes: Write[];
const aIds: string[] = [];
let aReplay = '';
let before: Map<string, Operation>;
const leaks: Probe[] = [];
let responses = 0;

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });
const bodyOf = (res: request.Response): Record<string, unknown> =>
  typeof res.body === 'object' && res.body !== null ? (res.body as Record<string, unknown>) : {};

function call(
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  headers: Record<string, string>,
  body?: unknown,
): Promise<request.Response> {
  const agent = request(api.app);
  const started =
    method === 'GET' ? agent.get(path) : method === 'POST' ? agent.post(path) : agent.patch(path);
  started.set(headers);
  return body === undefined ? started : started.send(body as object);
}

/**
 * The answer's body without `instance`, which only echoes the path the caller sent (and so names
 * the id the caller already had): anything of A's left in it was revealed.
 */
function revealed(res: request.Response): string | undefined {
  const { instance: _echo, ...rest } = bodyOf(res);
  const text = JSON.stringify(rest);
  const id = aIds.find((op) => text.includes(op));
  if (id !== undefined) return `names A's operation ${id}`;
  const key = writes.find((w) => text.includes(w.key));
  if (key !== undefined) return `names A's Idempotency-Key ${key.key}`;
  if (text.includes('desk-default')) return "names A's event subscriber";
  if (aReplay !== '' && text.includes(aReplay)) return "names A's replay run";
  return undefined;
}

/** Sends one intruder request; `verdict` says why the answer touched or revealed A's writes, if it did. */
async function intrude(
  who: string,
  what: string,
  send: () => Promise<request.Response>,
  verdict: (res: request.Response) => string | undefined = () => undefined,
): Promise<request.Response> {
  responses += 1;
  const res = await send();
  const why = revealed(res) ?? verdict(res);
  if (why !== undefined) leaks.push({ who, what, status: res.status, why });
  return res;
}

const notFound = (res: request.Response): string | undefined =>
  res.status === 404 ? undefined : `answered ${res.status}, not the 404 of an unknown id`;

async function acceptedBy(client: TestClient, write: Write, body = write.body): Promise<request.Response> {
  return call(write.method, write.path, { ...bearer(client.key), 'idempotency-key': write.key }, body);
}

async function markAs(id: string, status: 'failed' | 'needs-review'): Promise<void> {
  const op = await api.rig.deps.store.get(id);
  if (op === undefined) throw new Error(`operation ${id} was not stored`);
  // As after an outage: sent, failed, given up on.
  await api.rig.deps.store.save(transition(op, { status, attempts: 3 }, new Date()));
}

beforeAll(async () => {
  api = await startInProcessApi({ overrides: CONFIG });
  a = await createClient(api.access, 'tenant-a', 'default', SCOPES);
  a2 = await createClient(api.access, 'tenant-a-second', 'default', SCOPES);
  const south = await createClient(api.access, 'tenant-south', 'south', SCOPES);
  const east = await createClient(api.access, 'tenant-east', 'east', SCOPES);
  intruders = [
    {
      name: 'south',
      client: south,
      second: await createClient(api.access, 'tenant-south-second', 'south', SCOPES),
      token: await accessToken(api.app, south),
    },
    {
      name: 'east',
      client: east,
      second: await createClient(api.access, 'tenant-east-second', 'east', SCOPES),
      token: await accessToken(api.app, east),
    },
  ];

  const slots = await call('GET', '/v1/slots?limit=8', bearer(a.key));
  const slotIds = (bodyOf(slots).slots as { id: string }[]).map((s) => s.id);
  if (slotIds.length < 6) throw new Error('the sandbox offers too few free slots');
  const startedAt = new Date(Date.now() - 600_000).toISOString();
  writes = [
    {
      method: 'PATCH',
      path: '/v1/patients/pat-0011',
      body: { email: 'a-11@example.org' },
      key: 'tenant-a-patch-0011',
      intruderBodies: [{ email: 'a-11@example.org' }, { email: 'intruder@example.org' }],
    },
    {
      method: 'POST',
      path: '/v1/appointments',
      body: { patientId: 'pat-0012', slotId: slotIds[0] },
      key: 'tenant-a-book-0012',
      intruderBodies: [
        { patientId: 'pat-0012', slotId: slotIds[1] },
        { patientId: 'pat-0016', slotId: slotIds[2] },
      ],
    },
    {
      method: 'POST',
      path: '/v1/calls',
      body: { patientId: 'pat-0013', startedAt },
      key: 'tenant-a-call-0013',
      intruderBodies: [
        { patientId: 'pat-0013', startedAt },
        { patientId: 'pat-0014', startedAt },
      ],
    },
    {
      method: 'POST',
      path: '/v1/callbacks',
      body: { patientId: 'pat-0015', phone: '+16175550123' },
      key: 'tenant-a-callback-0015',
      intruderBodies: [
        { patientId: 'pat-0015', phone: '+16175550123' },
        { patientId: 'pat-0015', phone: '+16175550124' },
      ],
    },
    {
      method: 'POST',
      path: '/v1/appointments',
      body: { patientId: 'pat-0017', slotId: slotIds[3] },
      key: 'tenant-a-book-0017',
      intruderBodies: [
        { patientId: 'pat-0017', slotId: slotIds[4] },
        { patientId: 'pat-0018', slotId: slotIds[5] },
      ],
    },
  ];
  for (const write of writes) {
    const res = await acceptedBy(a, write);
    if (res.status !== 202) throw new Error(`A's write refused: ${res.status} ${res.text}`);
    aIds.push(bodyOf(res).operationId as string);
  }
  // One write of each state an operator can act on: queued (cancel), failed and needs-review (retry, replay).
  await markAs(aIds[1] ?? '', 'failed');
  await markAs(aIds[2] ?? '', 'failed');
  await markAs(aIds[3] ?? '', 'needs-review');
  // A replay run of A's own that re-sends nothing (nothing failed after `since`).
  const run = await call('POST', '/v1/operations/replay', bearer(a.key), {
    since: new Date(Date.now() + 3_600_000).toISOString(),
    dryRun: false,
  });
  if (run.status !== 202) throw new Error(`A's replay refused: ${run.status} ${run.text}`);
  aReplay = bodyOf(run).replayId as string;
  before = new Map(
    await Promise.all(aIds.map(async (id) => [id, (await api.rig.deps.store.get(id)) as Operation] as const)),
  );
}, 60_000);

afterAll(async () => {
  console.log(`cross-tenant access ${leaks.length} of ${responses}`);
  await api.stop();
});

it("lets no other tenant see, find, retry, cancel, replay or collide with A's writes", async () => {
  const start = leaks.length;
  for (const { name, client, second, token } of intruders) {
    const mine = bearer(client.key);
    const viaToken = bearer(token);

    for (const status of OPERATION_STATUSES) {
      for (const query of ['', '&connection=sandbox', '&patient=pat-0011', '&since=2000-01-01T00:00:00Z']) {
        await intrude(name, `list ${status}${query}`, () =>
          call('GET', `/v1/operations?status=${status}${query}`, mine),
        );
      }
    }
    for (const id of aIds) {
      for (const [headers, how] of [
        [mine, 'key'],
        [viaToken, 'token'],
      ] as const) {
        await intrude(name, `receipt (${how})`, () => call('GET', `/v1/operations/${id}`, headers), notFound);
        await intrude(
          name,
          `retry (${how})`,
          () => call('POST', `/v1/operations/${id}/retry`, headers, {}),
          notFound,
        );
        await intrude(
          name,
          `cancel (${how})`,
          () => call('POST', `/v1/operations/${id}/cancel`, headers, {}),
          notFound,
        );
      }
    }

    const planned = (res: request.Response): string | undefined => {
      const count = bodyOf(res).count;
      return typeof count === 'number' && count > 0 ? `a dry run planned ${count} writes` : undefined;
    };
    for (const filter of [
      { status: ['failed'] },
      { status: ['needs-review'] },
      { status: ['failed', 'needs-review'], since: '2000-01-01T00:00:00Z' },
      { all: true },
      { connection: 'sandbox' },
      { status: ['failed'], connection: 'sandbox' },
    ]) {
      await intrude(
        name,
        `dry-run replay ${JSON.stringify(filter)}`,
        () => call('POST', '/v1/operations/replay', mine, { ...filter, dryRun: true }),
        planned,
      );
    }
    for (const filter of [{ all: true }, { status: ['failed', 'needs-review'], connection: 'sandbox' }]) {
      const started = await intrude(name, `replay ${JSON.stringify(filter)}`, () =>
        call('POST', '/v1/operations/replay', mine, { ...filter, dryRun: false, ratePerSecond: 1000 }),
      );
      const replayId = bodyOf(started).replayId;
      if (typeof replayId !== 'string') continue;
      const done = await waitFor(
        async () => {
          const run = await call('GET', `/v1/operations/replay/${replayId}`, mine);
          return bodyOf(run).state === 'finished' ? run : undefined;
        },
        { what: `${name}'s replay to finish` },
      );
      responses += 1;
      const total = bodyOf(done).total;
      if (total !== 0)
        leaks.push({
          who: name,
          what: 'own replay run',
          status: done.status,
          why: `selected ${String(total)} writes`,
        });
    }
    await intrude(
      name,
      "A's replay run",
      () => call('GET', `/v1/operations/replay/${aReplay}`, mine),
      notFound,
    );
    await intrude(
      name,
      "stop A's replay run",
      () => call('POST', `/v1/operations/replay/${aReplay}/stop`, mine, {}),
      notFound,
    );

    const status = await intrude(name, 'status', () => call('GET', '/v1/status', mine));
    const connections = Object.keys(bodyOf(status).connections ?? {});
    const allowed = CONFIG.tenants[name].connections;
    if (status.status !== 200 || connections.some((c) => !allowed.includes(c))) {
      leaks.push({
        who: name,
        what: 'status',
        status: status.status,
        why: `reports ${connections.join(', ')}`,
      });
    }
    await intrude(name, 'event subscribers', () => call('GET', '/v1/events/subscribers', mine));
    await intrude(
      name,
      "replay A's event subscriber",
      () => call('POST', '/v1/events/subscribers/desk-default/replay', mine, {}),
      notFound,
    );

    // The same Idempotency-Keys, on the intruder's own connection: its own new writes, never A's.
    for (const write of writes) {
      for (const [sender, body, which] of [
        [client, write.intruderBodies[0], 'same request'],
        [second, write.intruderBodies[1], 'another request'],
      ] as const) {
        await intrude(
          name,
          `${write.method} ${write.path} with A's key, ${which}`,
          () => acceptedBy(sender, write, body),
          (res) =>
            res.status !== 202
              ? `answered ${res.status} ${typeof bodyOf(res).code === 'string' ? String(bodyOf(res).code) : ''}: the key is not the intruder's own`
              : bodyOf(res).replayed === true
                ? 'answered as a replay of an earlier write'
                : undefined,
        );
      }
    }
  }

  expect(leaks.slice(start)).toEqual([]);
  expect(responses).toBeGreaterThan(100);
});

/*
 * PRODUCT BUG (expected to fail until fixed): reads overlay every queued write in the patient's
 * lane, whoever accepted it. src/use-cases/pending-writes.ts, pendingPatientWrites(), reads
 * store.laneOperations(patientLane(connection, patientId)) with no tenant filter, and
 * patient-read.ts, patient-appointments.ts and patient-summary.ts overlay the result. A client of
 * a tenant that shares A's connection (`east`) reading one of A's patients is shown A's queued
 * writes: their operation ids, kinds, and the changed values themselves (A's new email, A's
 * pending booking). Only writes the caller's tenant can see (tenantSees in tenant-visibility.ts)
 * should be overlaid.
 */
it("[PRODUCT BUG] reads of a shared connection overlay no other tenant's pending writes", async () => {
  const start = leaks.length;
  for (const { name, client } of intruders) {
    for (const path of [
      '/v1/patients/pat-0011',
      '/v1/patients/pat-0011/summary',
      '/v1/patients/pat-0017/summary',
      '/v1/patients/pat-0017/appointments',
    ]) {
      for (const query of ['', '?connection=sandbox']) {
        await intrude(name, `read ${path}${query}`, () => call('GET', `${path}${query}`, bearer(client.key)));
      }
    }
  }
  expect(leaks.slice(start)).toEqual([]);
});

it("leaves A's writes exactly as they were", async () => {
  for (const id of aIds) {
    const now = await api.rig.deps.store.get(id);
    const was = before.get(id);
    expect({
      id,
      status: now?.status,
      attempts: now?.attempts,
      history: now?.history.length,
      updatedAt: now?.updatedAt,
    }).toEqual({
      id,
      status: was?.status,
      attempts: was?.attempts,
      history: was?.history.length,
      updatedAt: was?.updatedAt,
    });
  }
  // And A still finds each of them under its own keys.
  for (const [i, write] of writes.entries()) {
    const again = await acceptedBy(a, write);
    expect({ id: bodyOf(again).operationId, replayed: bodyOf(again).replayed }).toEqual({
      id: aIds[i],
      replayed: true,
    });
  }
});

it('scopes Idempotency-Keys per client: two clients of one tenant get two operations', async () => {
  const write: Write = {
    method: 'PATCH',
    path: '/v1/patients/pat-0020',
    body: { email: 'shared-key@example.org' },
    key: 'one-key-two-clients',
    intruderBodies: [{}, {}],
  };
  const first = await acceptedBy(a, write);
  const second = await acceptedBy(a2, write);
  const firstAgain = await acceptedBy(a, write);
  expect([first.status, second.status, firstAgain.status]).toEqual([202, 202, 202]);
  expect(bodyOf(second).operationId).not.toBe(bodyOf(first).operationId);
  expect(bodyOf(second).replayed).toBeUndefined();
  // The key does work within one client, so the distinct answer above is the per-client scope.
  expect(bodyOf(firstAgain)).toMatchObject({ operationId: bodyOf(first).operationId, replayed: true });

  // The same for the call-center's contact id, which stands in for a key when none is sent.
  const byContact = (client: TestClient) =>
    call(
      'PATCH',
      '/v1/patients/pat-0021',
      { ...bearer(client.key), 'x-contact-id': 'contact-77' },
      {
        email: 'contact@example.org',
      },
    );
  const [c1, c2, c1Again] = [await byContact(a), await byContact(a2), await byContact(a)];
  expect(bodyOf(c2).operationId).not.toBe(bodyOf(c1).operationId);
  expect(bodyOf(c1Again).operationId).toBe(bodyOf(c1).operationId);
});
