/**
 * FHIR R4 rest-hook Subscriptions on the sandbox EHR: a committed create or update is POSTed to each
 * matching active subscription's loopback endpoint, signed like Medplum (`X-Signature`), with the event id
 * and resource version in headers; retried on 5xx; nothing for `off` or a rolled-back transaction; refused
 * at create for endpoints off the machine and criteria it cannot evaluate.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

jest.setTimeout(30000);

const SECRET_URL = 'https://www.medplum.com/fhir/StructureDefinition/subscription-secret';
const SECRET = 'sandbox-subscription-secret-42';

interface Delivery {
  readonly path: string;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly answered: number;
}

/** A loopback receiver recording every request; per path, a list of statuses to answer first (then 200). */
class Receiver {
  readonly deliveries: Delivery[] = [];
  readonly scripted = new Map<string, number[]>();
  /** Paths whose requests are never answered (until the server closes). */
  readonly hanging = new Set<string>();
  private server: Server | undefined;
  origin = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        // Endpoints must be a gateway's webhook route: the receiver stands at that prefix.
        const path = (req.url ?? '').replace(/^\/webhooks\/ehr/, '');
        const answered = this.hanging.has(path) ? 0 : (this.scripted.get(path)?.shift() ?? 200);
        this.deliveries.push({
          path,
          method: req.method ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          answered,
        });
        if (answered !== 0) res.writeHead(answered).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/ehr`;
  }

  at(path: string, version?: string): Delivery[] {
    return this.deliveries.filter(
      (d) => d.path === path && (version === undefined || d.headers['x-resource-version'] === version),
    );
  }

  async waitFor(path: string, version: string, what: string): Promise<Delivery> {
    return waitFor(() => Promise.resolve(this.at(path, version).find((d) => d.answered === 200)), { what });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}

function subscription(endpoint: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'integration test',
    criteria: 'Patient',
    channel: { type: 'rest-hook', endpoint },
    ...fields,
  };
}

let sandbox: SandboxServer;
const receiver = new Receiver();

beforeAll(async () => {
  await receiver.start();
  sandbox = await startSandboxServer({ port: 0, today: new Date('2026-03-02T12:00:00Z'), patientCount: 20 });
});
afterAll(async () => {
  await sandbox.close();
  await receiver.close();
});

async function create(body: Record<string, unknown>): Promise<{ status: number; body: any }> {
  return http('POST', `${sandbox.url}/Subscription`, {
    body,
    headers: { 'content-type': 'application/fhir+json' },
  });
}

/** Reads a resource, changes it, PUTs it back; the stored new version. */
async function touch(
  type: string,
  id: string,
  change: (resource: any) => void = () => undefined,
): Promise<any> {
  const current = await http('GET', `${sandbox.url}/${type}/${id}`);
  change(current.body);
  const updated = await http('PUT', `${sandbox.url}/${type}/${id}`, {
    body: current.body,
    headers: { 'content-type': 'application/fhir+json' },
  });
  expect(updated.status).toBe(200);
  return updated.body;
}

const versionOf = (resource: any): string =>
  `${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;

it('POSTs the updated resource, signed with the secret, with event id and version headers', async () => {
  const created = await create(
    subscription(`${receiver.origin}/full`, {
      channel: {
        type: 'rest-hook',
        endpoint: `${receiver.origin}/full`,
        payload: 'application/fhir+json',
        header: ['Authorization: Bearer receiver-token'],
      },
      extension: [{ url: SECRET_URL, valueString: SECRET }],
    }),
  );
  expect(created.status).toBe(201);
  expect(created.body.status).toBe('active');

  const patient = await touch('Patient', 'pat-0001', (p) => {
    p.active = false;
  });
  const delivery = await receiver.waitFor('/full', versionOf(patient), 'the full-resource notification');

  expect(delivery.method).toBe('POST');
  expect(delivery.headers['content-type']).toBe('application/fhir+json');
  expect(delivery.headers.authorization).toBe('Bearer receiver-token');
  expect(delivery.headers['x-event-id']).toMatch(
    /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  );
  expect(delivery.headers['x-resource-version']).toBe(`Patient/pat-0001/_history/${patient.meta.versionId}`);
  expect(JSON.parse(delivery.body.toString('utf8'))).toEqual(patient);
  expect(JSON.parse(delivery.body.toString('utf8')).active).toBe(false);

  const signature = Buffer.from(String(delivery.headers['x-signature']), 'hex');
  const expected = createHmac('sha256', SECRET).update(delivery.body).digest();
  expect(signature.length).toBe(expected.length);
  expect(timingSafeEqual(signature, expected)).toBe(true);
});

it('sends an empty body when the subscription asks for no payload', async () => {
  expect((await create(subscription(`${receiver.origin}/empty`))).status).toBe(201);
  const patient = await touch('Patient', 'pat-0002');
  const delivery = await receiver.waitFor('/empty', versionOf(patient), 'the empty notification');
  expect(delivery.body.length).toBe(0);
  expect(delivery.headers['content-type']).toBeUndefined();
  expect(delivery.headers['x-signature']).toBeUndefined();
  expect(delivery.headers['x-resource-version']).toBe(versionOf(patient));
});

it('matches Type?param=value criteria like a search', async () => {
  expect(
    (await create(subscription(`${receiver.origin}/female`, { criteria: 'Patient?gender=female' }))).status,
  ).toBe(201);
  const patients = (await http('GET', `${sandbox.url}/Patient?_count=20`)).body.entry.map(
    (e: any) => e.resource,
  );
  const male = patients.find((p: any) => p.gender === 'male');
  const female = patients.find((p: any) => p.gender === 'female');
  const maleVersion = versionOf(await touch('Patient', male.id));
  const femaleVersion = versionOf(await touch('Patient', female.id));
  await receiver.waitFor('/female', femaleVersion, 'the notification for the matching patient');
  expect(receiver.at('/female', maleVersion)).toEqual([]);
});

it('delivers nothing for a subscription that is off', async () => {
  const off = await create(subscription(`${receiver.origin}/off`, { status: 'off' }));
  expect(off.status).toBe(201);
  expect(off.body.status).toBe('off');
  expect((await create(subscription(`${receiver.origin}/unrelated`, { criteria: 'Encounter' }))).status).toBe(
    201,
  );

  await touch('Patient', 'pat-0003');
  // Notifications go out in commit order: once the later write's has arrived, the earlier one had its chance.
  const encounter = await touch('Encounter', 'enc-00001');
  await receiver.waitFor('/unrelated', versionOf(encounter), 'the later, unrelated notification');
  expect(receiver.at('/off')).toEqual([]);
});

it('retries a receiver answering 503 and delivers on the third attempt', async () => {
  receiver.scripted.set('/flaky', [503, 503]);
  expect((await create(subscription(`${receiver.origin}/flaky`, { criteria: 'Appointment' }))).status).toBe(
    201,
  );
  const appointment = await touch('Appointment', 'appt-00001');
  await waitFor(
    () => Promise.resolve(receiver.at('/flaky', versionOf(appointment)).length >= 3 ? true : undefined),
    {
      what: 'three attempts',
    },
  );
  const attempts = receiver.at('/flaky', versionOf(appointment));
  expect(attempts.map((d) => d.answered)).toEqual([503, 503, 200]);
  // The same notification each time: the receiver de-duplicates on the event id.
  expect(new Set(attempts.map((d) => d.headers['x-event-id'])).size).toBe(1);
});

it('notifies for a transaction only when it commits', async () => {
  const before = (await http('GET', `${sandbox.url}/Patient/pat-0020`)).body;
  const failed = await http('POST', sandbox.url, {
    headers: { 'content-type': 'application/fhir+json' },
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...before, active: false }, request: { method: 'PUT', url: 'Patient/pat-0020' } },
        // Applied after the first entry, and refused (no update-as-create): the whole transaction rolls back.
        { resource: { ...before, id: 'pat-9999' }, request: { method: 'PUT', url: 'Patient/pat-9999' } },
      ],
    },
  });
  expect(failed.status).toBe(404);
  const encounter = await touch('Encounter', 'enc-00002');
  await receiver.waitFor('/unrelated', versionOf(encounter), 'the later, unrelated notification');
  const rolledBack = `Patient/pat-0020/_history/${Number(before.meta.versionId) + 1}`;
  expect(receiver.at('/full', rolledBack)).toEqual([]);

  const committed = await http('POST', sandbox.url, {
    headers: { 'content-type': 'application/fhir+json' },
    body: {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: { ...before, active: false }, request: { method: 'PUT', url: 'Patient/pat-0020' } },
      ],
    },
  });
  expect(committed.status).toBe(200);
  const delivered = await receiver.waitFor('/full', rolledBack, "the committed transaction's notification");
  expect(JSON.parse(delivered.body.toString('utf8')).active).toBe(false);
});

it('refuses endpoints off the machine and criteria or channels it cannot honour, with a 400 OperationOutcome', async () => {
  const refused: [Record<string, unknown>, string, RegExp][] = [
    [subscription('http://example.com/hook'), 'Subscription.channel.endpoint', /loopback/],
    [subscription('http://10.0.0.8:8080/hook'), 'Subscription.channel.endpoint', /loopback/],
    [subscription('ftp://127.0.0.1/hook'), 'Subscription.channel.endpoint', /http or https/],
    [
      subscription(`${receiver.origin}/x`, { criteria: 'Observation' }),
      'Subscription.criteria',
      /Observation/,
    ],
    [
      subscription(`${receiver.origin}/x`, { criteria: 'Patient?nickname=x' }),
      'Subscription.criteria',
      /nickname/,
    ],
    [
      subscription(`${receiver.origin}/x`, { criteria: 'Patient?_count=5' }),
      'Subscription.criteria',
      /_count/,
    ],
    [
      subscription(`${receiver.origin}/x`, {
        channel: { type: 'websocket', endpoint: `${receiver.origin}/x` },
      }),
      'Subscription.channel.type',
      /rest-hook/,
    ],
    [
      subscription(`${receiver.origin}/x`, {
        channel: { type: 'rest-hook', endpoint: `${receiver.origin}/x`, header: ['no colon here'] },
      }),
      'Subscription.channel.header[0]',
      /Name: value/,
    ],
  ];
  for (const [body, expression, text] of refused) {
    const answer = await create(body);
    expect({ body, status: answer.status }).toEqual({ body, status: 400 });
    expect(answer.body.resourceType).toBe('OperationOutcome');
    expect(answer.body.issue[0].expression).toEqual([expression]);
    expect(answer.body.issue[0].details.text).toMatch(text);
  }

  // An update cannot point an accepted subscription off the machine either.
  const created = await create(subscription(`${receiver.origin}/moved`, { status: 'off' }));
  const moved = await http('PUT', `${sandbox.url}/Subscription/${created.body.id}`, {
    headers: { 'content-type': 'application/fhir+json' },
    body: { ...created.body, channel: { type: 'rest-hook', endpoint: 'https://example.org/hook' } },
  });
  expect(moved.status).toBe(400);
  expect(moved.body.issue[0].details.text).toMatch(/loopback/);
});

it('aborts a delivery in flight when the sandbox closes', async () => {
  const own = await startSandboxServer({ port: 0, today: new Date('2026-03-02T12:00:00Z'), patientCount: 5 });
  let closed = false;
  try {
    receiver.hanging.add('/hang');
    const created = await http('POST', `${own.url}/Subscription`, {
      headers: { 'content-type': 'application/fhir+json' },
      body: subscription(`${receiver.origin}/hang`),
    });
    expect(created.status).toBe(201);
    const patient = await http('PUT', `${own.url}/Patient/pat-0001`, {
      headers: { 'content-type': 'application/fhir+json' },
      body: (await http('GET', `${own.url}/Patient/pat-0001`)).body,
    });
    await waitFor(
      () => Promise.resolve(receiver.at('/hang', versionOf(patient.body)).length > 0 ? true : undefined),
      {
        what: 'the hanging delivery to start',
      },
    );
    const started = Date.now();
    await own.close();
    closed = true;
    // The receiver never answers and the attempt timeout is 10 s: close() did not wait for it.
    expect(Date.now() - started).toBeLessThan(2000);
  } finally {
    if (!closed) await own.close();
  }
});
