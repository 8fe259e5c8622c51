/**
 * The sandbox EHR's capacity mode over real HTTP, as a FHIR client and an operator meet it: never more
 * requests served at once than its capacity, a line behind that, 429 past the line (with Retry-After only
 * when configured), every request answered, the EHR's state matching the answers, and `up` clearing it all.
 */
import { startSandboxServer, type SandboxServer } from '../../adapters/ehr/sandbox';
import { forgetCredential, useCredential } from '../support/credentials';
import { http } from '../support/http';
import { waitFor } from '../support/wait-for';

const TODAY = new Date('2026-03-02T12:00:00Z');
const FHIR_JSON = 'application/fhir+json';
const ID_SYSTEM = 'urn:continuum:test:capacity';
// The stand-alone sandbox with a token: every request below presents it, as a client of a guarded EHR would.
const TOKEN = 'capacity-test-token-0123456789';

let server: SandboxServer;
let adminBase: string;

beforeAll(async () => {
  server = await startSandboxServer({ port: 0, today: TODAY, patientCount: 30, token: TOKEN });
  adminBase = `${new URL(server.url).origin}/sandbox/admin`;
  useCredential(server.url, TOKEN);
});

afterAll(async () => {
  forgetCredential(server.url);
  await server.close();
});

afterEach(() => {
  server.faults.reset();
});

function patient(value: string): Record<string, unknown> {
  return {
    resourceType: 'Patient',
    identifier: [{ system: ID_SYSTEM, value }],
    name: [{ family: 'Capacity', given: ['Test'] }],
  };
}

interface Answer {
  readonly value: string;
  readonly status: number;
  readonly retryAfter: string | null;
  readonly body: any;
  /** Seen by the client, from sending to the whole answer read. */
  readonly elapsedMs: number;
}

async function create(value: string): Promise<Answer> {
  const started = performance.now();
  const answer = await http('POST', `${server.url}/Patient`, {
    raw: JSON.stringify(patient(value)),
    headers: { 'content-type': FHIR_JSON, accept: FHIR_JSON },
  });
  return {
    value,
    status: answer.status,
    retryAfter: answer.headers.get('retry-after'),
    body: answer.body,
    elapsedMs: performance.now() - started,
  };
}

async function stored(value: string): Promise<number> {
  const answer = await http(
    'GET',
    `${server.url}/Patient?identifier=${encodeURIComponent(`${ID_SYSTEM}|${value}`)}`,
    {
      headers: { accept: FHIR_JSON },
    },
  );
  expect(answer.status).toBe(200);
  return answer.body.total as number;
}

async function setFaults(mode: Record<string, unknown>): Promise<any> {
  const answer = await http('POST', `${adminBase}/faults`, { body: mode });
  expect(answer.status).toBe(200);
  return answer.body;
}

async function capacity(): Promise<any> {
  const answer = await http('GET', `${adminBase}/capacity`);
  expect(answer.status).toBe(200);
  return answer.body;
}

// 400 ms per request: 40 requests overflow 4 + 8 places even when a loaded machine sends them
// over a second or two rather than at once.
describe('capacity 4, latency 400 ms, queue depth 8', () => {
  it('40 writes at once: at most 4 served at a time, the overflow refused with 429 and Retry-After, none lost', async () => {
    await setFaults({ mode: 'capacity', concurrent: 4, latencyMs: 400, queueDepth: 8, retryAfterSeconds: 2 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => create(`burst-${String(i)}`)));

    const created = answers.filter((a) => a.status === 201);
    const throttled = answers.filter((a) => a.status === 429);
    expect(created.length + throttled.length).toBe(40);
    expect(throttled.length).toBeGreaterThan(0);
    for (const answer of throttled) {
      expect(answer.retryAfter).toBe('2');
      expect(answer.body).toMatchObject({
        resourceType: 'OperationOutcome',
        issue: [{ severity: 'error', code: 'throttled' }],
      });
    }
    // The latency is a floor under every served request, wherever it waited.
    for (const answer of created) expect(answer.elapsedMs).toBeGreaterThanOrEqual(400);

    const state = await capacity();
    expect(state).toMatchObject({
      active: true,
      mode: { mode: 'capacity', concurrent: 4, latencyMs: 400, queueDepth: 8, retryAfterSeconds: 2 },
      inFlight: 0,
      waiting: 0,
      window: {
        arrived: 40,
        served: created.length,
        throttled: throttled.length,
        abandoned: 0,
        pending: 0,
        until: null,
      },
    });
    expect(state.window.maxInFlight).toBeGreaterThanOrEqual(1);
    expect(state.window.maxInFlight).toBeLessThanOrEqual(4);
    expect(state.window.maxWaiting).toBeLessThanOrEqual(8);
    expect(state.window.latencyMs.count).toBe(created.length);
    expect(state.window.latencyMs.min).toBeGreaterThanOrEqual(400);
    expect(state.window.latencyMs.p99).toBeGreaterThanOrEqual(state.window.latencyMs.p50);

    // The EHR holds exactly what it said it stored, once each, and nothing it refused.
    server.faults.reset();
    for (const answer of created) expect(await stored(answer.value)).toBe(1);
    for (const answer of throttled) expect(await stored(answer.value)).toBe(0);
  });
});

describe('a full line', () => {
  it('429 without Retry-After when none is set; `up` answers every held and waiting request at once', async () => {
    // A latency no test waits out: the slots stay taken until `up`, so the line's state is certain.
    await setFaults({ mode: 'capacity', concurrent: 4, latencyMs: 300_000, queueDepth: 8 });
    const admitted = Array.from({ length: 12 }, (_, i) => create(`line-${String(i)}`));
    await waitFor(
      async () => {
        const state = await capacity();
        return state.inFlight === 4 && state.waiting === 8 ? state : undefined;
      },
      { what: '4 requests in flight and 8 waiting' },
    );

    const refused = await Promise.all(Array.from({ length: 5 }, (_, i) => create(`over-${String(i)}`)));
    for (const answer of refused) {
      expect(answer.status).toBe(429);
      expect(answer.retryAfter).toBeNull();
    }
    // The metadata a breaker probes shares the same capacity.
    const probe = await http('GET', `${server.url}/metadata`, { headers: { accept: FHIR_JSON } });
    expect(probe.status).toBe(429);

    const up = await setFaults({ mode: 'up' });
    expect(up.previous).toMatchObject({ mode: { mode: 'capacity' }, ended: 'replaced' });
    const answers = await Promise.all(admitted);
    expect(answers.map((a) => a.status)).toEqual(Array.from({ length: 12 }, () => 201));

    const state = await capacity();
    expect(state).toMatchObject({ active: false, mode: null, inFlight: 0, waiting: 0, window: null });
    expect(state.previous).toMatchObject({
      arrived: 18,
      served: 12,
      throttled: 6,
      abandoned: 0,
      pending: 0,
      maxInFlight: 4,
      maxWaiting: 8,
    });
    expect(state.previous.until).not.toBeNull();

    for (const answer of answers) expect(await stored(answer.value)).toBe(1);
    for (const answer of refused) expect(await stored(answer.value)).toBe(0);
    expect((await http('GET', `${server.url}/metadata`, { headers: { accept: FHIR_JSON } })).status).toBe(
      200,
    );
  });
});

describe('the counters', () => {
  it('a reset closes the window in the same answer and starts a new one; paths leave other requests out', async () => {
    await setFaults({ mode: 'capacity', concurrent: 2, latencyMs: 5, paths: ['Patient'] });
    await create('window-1');
    await create('window-2');
    expect(
      (await http('GET', `${server.url}/Practitioner?_count=1`, { headers: { accept: FHIR_JSON } })).status,
    ).toBe(200);

    const reset = await http('POST', `${adminBase}/capacity/reset`);
    expect(reset.status).toBe(200);
    expect(reset.body.previous).toMatchObject({ arrived: 2, served: 2, throttled: 0, pending: 0 });
    expect(reset.body.previous.latencyMs).toMatchObject({ count: 2 });
    expect(reset.body.previous.latencyMs.min).toBeGreaterThanOrEqual(5);
    expect(reset.body.window).toMatchObject({ arrived: 0, served: 0, latencyMs: { count: 0, p99: null } });

    await create('window-3');
    expect((await capacity()).window).toMatchObject({ arrived: 1, served: 1 });
  });

  it('answers other methods with 405, and shows an inactive state before any capacity mode', async () => {
    const put = await http('PUT', `${adminBase}/capacity`, { body: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET');
    const get = await http('GET', `${adminBase}/capacity/reset`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect(await capacity()).toMatchObject({ active: false, mode: null, window: null });
  });

  it('refuses a bad capacity with 400 naming the field', async () => {
    const answer = await http('POST', `${adminBase}/faults`, {
      body: { mode: 'capacity', concurrent: 0, latencyMs: 40, queueDepth: -1 },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'concurrent',
      'queueDepth',
    ]);
  });
});
