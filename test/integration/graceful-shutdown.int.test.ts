/**
 * A graceful stop in the middle of event delivery and EHR-notification processing loses nothing
 * and leaves nothing open: the in-flight delivery and re-reads finish or go back to their queues,
 * every queue and connection is closed, and a gateway started again on the same Redis delivers
 * every event and applies every notification.
 */
import { createHmac } from 'node:crypto';
import { Agent, createServer, get as httpGet, type Server } from 'node:http';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { deletePrefix, TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const SECRET = `whsec_${Buffer.from('graceful-shutdown-events').toString('base64')}`;
const EHR_SECRET = 'graceful-shutdown-ehr-secret-0123';
/** The subscriber answers each delivery this late, so deliveries are in flight when the stop comes. */
const ANSWER_DELAY_MS = 300;

// Two gateways, a drain of every event at the subscriber's pace and two graceful stops: on a
// loaded 2-core machine this takes far longer than the default 30 s.
jest.setTimeout(120_000);

let server: Server;
let url = '';
const received = new Set<string>();
let inFlight = 0;
const gateways: TestGateway[] = [];
let prefix = '';

beforeAll(async () => {
  server = createServer((req, res) => {
    inFlight++;
    req.resume();
    req.on('end', () => {
      setTimeout(() => {
        received.add(String(req.headers['webhook-id']));
        inFlight--;
        res.writeHead(200).end();
      }, ANSWER_DELAY_MS);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/events`;
});
afterAll(async () => {
  // Whatever a failing test left running is stopped here, so the runner never waits for ever.
  for (const gw of gateways) await gw.gateway.close().catch(() => undefined);
  if (prefix !== '') await deletePrefix(prefix);
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function gateway(keyPrefix?: string, key?: string): Promise<TestGateway> {
  const gw = await startTestGateway({
    ...(key !== undefined ? { key } : {}),
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { webhooks: { scheme: 'hmac-sha256', secret: EHR_SECRET } } },
      events: { subscribers: [{ kind: 'webhook', name: 'desk', url, secret: SECRET }] },
      ...(keyPrefix !== undefined ? { redis: { keyPrefix, requireDurability: false } } : {}),
    },
  });
  gateways.push(gw);
  return gw;
}

/** Sockets and servers this process holds: what a gateway leaves open after close() shows here. */
const openHandles = (): number =>
  process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap' || r === 'TCPServerWrap').length;

async function jobCounts(queueName: string): Promise<Record<string, number>> {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const queue = new Queue(queueName, { connection, prefix: `{${prefix}}` });
  try {
    return await queue.getJobCounts('waiting', 'delayed', 'active', 'prioritized', 'completed', 'failed');
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

it('stops in the middle of deliveries and re-reads, then a new gateway finishes them all', async () => {
  const baseline = openHandles();
  const first = await gateway();
  prefix = first.prefix;

  const operations: string[] = [];
  for (const [i, id] of ['pat-0120', 'pat-0121', 'pat-0122', 'pat-0123'].entries()) {
    const res = await http('PATCH', `${first.url}/v1/patients/${id}`, {
      body: { email: `shutdown-${i}@example.org` },
      headers: { prefer: 'wait=10' },
    });
    expect(res.body.status).toBe('succeeded');
    operations.push(res.body.operationId as string);
  }

  // The EHR now answers slowly: the notification worker's re-reads are in flight at the stop.
  await setFaults(first.url, { mode: 'slow', latencyMs: 400 });
  const notified = ['pat-0130', 'pat-0131', 'pat-0132', 'pat-0133', 'pat-0134', 'pat-0135'];
  for (const id of notified) {
    const resource = (await http('GET', `${first.fhirBase}/Patient/${id}`)).body;
    const body = JSON.stringify(resource);
    const res = await http('POST', `${first.url}/webhooks/ehr/sandbox`, {
      raw: body,
      headers: {
        'content-type': 'application/fhir+json',
        'x-signature': createHmac('sha256', EHR_SECRET).update(body).digest('hex'),
      },
    });
    expect(res.status).toBe(202);
  }
  await waitFor(() => Promise.resolve(inFlight > 0 ? true : undefined), {
    timeoutMs: 20000,
    what: 'a delivery in flight',
  });
  const deliveredBeforeStop = received.size;

  await first.gateway.close();
  // One ordered list for start-up failures and shutdown: no new work, work finishes, then every queue.
  expect(first.gateway.closeOrder).toEqual([
    'status sampler',
    'timers',
    'replays',
    'storage gauge',
    'http',
    'workers',
    'warm-ups',
    'closure queue',
    'notification queue',
    'write queues',
    'event queues',
    // After the workers and queues, which may still record what they finish; before Redis goes.
    'audit trail',
    'sandbox',
    // Its own connection, in subscriber mode: closed with the others, after every waiter answered.
    'final-status subscriber',
    'client registry',
    'redis connections',
  ]);
  // Nothing open: Redis connections, BullMQ workers, the HTTP server, the EHR client's sockets.
  server.closeIdleConnections();
  await waitFor(() => Promise.resolve(openHandles() <= baseline ? true : undefined), {
    timeoutMs: 10000,
    what: `open sockets back to ${baseline} (now ${openHandles()}: ${process.getActiveResourcesInfo().join(', ')})`,
  });
  const stopped = await jobCounts('events-desk');
  expect(stopped.active).toBe(0);
  expect(stopped.failed).toBe(0);
  // Work was left for the next gateway: the stop really came mid-stream.
  expect((stopped.waiting ?? 0) + (stopped.delayed ?? 0) + (stopped.prioritized ?? 0)).toBeGreaterThan(0);

  const second = await gateway(prefix, first.key);
  const drained = await waitFor(
    async () => {
      const [events, notifications] = await Promise.all([
        jobCounts('events-desk'),
        jobCounts('ehr-notifications'),
      ]);
      const pending = (c: Record<string, number>) =>
        (c.waiting ?? 0) + (c.delayed ?? 0) + (c.active ?? 0) + (c.prioritized ?? 0);
      return pending(events) === 0 && pending(notifications) === 0 && inFlight === 0
        ? { events, notifications }
        : undefined;
    },
    { timeoutMs: 60000, what: 'every event delivered and every notification applied' },
  );
  expect(drained.notifications).toMatchObject({ completed: notified.length, failed: 0 });
  expect(drained.events.failed).toBe(0);
  for (const id of operations) expect(received).toContain(`${id}.operation.succeeded`);
  expect(received.size).toBe(drained.events.completed);
  expect(received.size).toBeGreaterThan(deliveredBeforeStop);
  await setFaults(second.url, { mode: 'up' });
});

it('does not wait for the keep-alive timeout when a request was in flight as the stop began', async () => {
  const gw = await gateway();
  await setFaults(gw.url, { mode: 'slow', latencyMs: 500 });
  // A client that keeps its sockets open for ever, as an EHR client's agent may.
  const agent = new Agent({ keepAlive: true });
  try {
    let connected: () => void = () => undefined;
    const onSocket = new Promise<void>((resolve) => {
      connected = resolve;
    });
    const answered = new Promise<number>((resolve, reject) => {
      const headers = { authorization: `Bearer ${gw.key}` };
      const req = httpGet(`${gw.fhirBase}/Patient/pat-0001`, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.on('socket', (socket) => socket.once('connect', connected));
    });
    await onSocket;
    // Server and client share this process: two turns of the event loop and the server has the
    // request, which the sandbox then holds for 500 ms.
    for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
    const closed = gw.gateway.close().then(() => 'closed' as const);
    expect(await answered).toBe(200);
    // Without the sweep the server waits for the socket's 65 s keep-alive timeout.
    const late = new Promise<'late'>((resolve) => setTimeout(() => resolve('late'), 20_000).unref());
    expect(await Promise.race([closed, late])).toBe('closed');
  } finally {
    agent.destroy();
  }
});
