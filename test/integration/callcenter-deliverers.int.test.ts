/**
 * The platform deliverers against local stand-ins for Genesys Cloud (login + Platform API) and
 * Twilio Studio: the exact request each vendor documents, the OAuth token's life, the outcome of
 * each kind of failure, and no callback number or secret in any error.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { delivererFor, type ReadTask } from '../../src/wiring/deliverers';
import { DeliveryError, type EventDeliverer } from '../../src/domain/event-deliverer';
import { createGenesysCallbackDeliverer } from '../../adapters/callcenter/genesys-callback.deliverer';
import { createTwilioStudioDeliverer } from '../../adapters/callcenter/twilio-studio.deliverer';
import { subscriberSchema } from '../../src/config/config-schema';
import { loadConfig } from '../../src/config/load-config';
import { ContinuumError } from '../../src/domain/errors';
import type { CallCenterEvent } from '../../src/domain/events';
import type { Task } from '../../src/domain/fhir';

const PHONE = '+16175550199';
const CLIENT_ID = '2f6c1a3e-6f0a-4b8e-9a51-0c3d2b1e4f77';
const CLIENT_SECRET = 'genesys-client-secret-Zx9';
const QUEUE_ID = '8a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';
const ACCOUNT_SID = `AC${'a1'.repeat(16)}`;
const AUTH_TOKEN = 'twilio-auth-token-Qw7';
const FLOW_SID = `FW${'b2'.repeat(16)}`;
const TWILIO_FROM = '+15005550006';
const NOW = Date.parse('2026-11-27T12:00:00Z');

// ---------------------------------------------------------------------------------------------
// Stand-ins

interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Reply {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: unknown;
}

interface StandIn {
  readonly base: string;
  readonly requests: Recorded[];
  /** Answers taken in order; when none is left, `fallback`. */
  readonly replies: Reply[];
  fallback: (request: Recorded) => Reply;
}

const servers: Server[] = [];

async function standIn(fallback: (request: Recorded) => Reply): Promise<StandIn> {
  const state: StandIn = { base: '', requests: [], replies: [], fallback };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded: Recorded = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      state.requests.push(recorded);
      const reply = state.replies.shift() ?? state.fallback(recorded);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, { base: `http://127.0.0.1:${port}` });
}

/** A loopback URL nobody listens on. */
async function closedBase(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** Genesys login: a new token on each request (tok-1, tok-2, ...). */
async function genesysLogin(expiresIn = 86400): Promise<StandIn> {
  let issued = 0;
  return standIn(() => {
    issued += 1;
    return {
      status: 200,
      body: { access_token: `tok-${issued}`, token_type: 'bearer', expires_in: expiresIn },
    };
  });
}

/** Genesys Platform API: creates every callback. */
async function genesysApi(): Promise<StandIn> {
  return standIn(() => ({
    status: 200,
    body: { conversation: { id: 'c0a8f7e1-0000-4000-8000-000000000001' }, callbackIdentifiers: [] },
  }));
}

async function twilioStudio(): Promise<StandIn> {
  return standIn(() => ({
    status: 201,
    body: { sid: `FN${'c3'.repeat(16)}`, status: 'active', contact_channel_address: PHONE },
  }));
}

// ---------------------------------------------------------------------------------------------
// Events and Tasks

function callbackEvent(overrides: Partial<CallCenterEvent['data']> = {}): CallCenterEvent {
  return {
    id: 'evt_01',
    type: 'callback.requested',
    timestamp: '2026-11-27T12:00:00.000Z',
    data: {
      connection: 'epic',
      operationId: 'op_42',
      patientId: 'pat-0001',
      resourceRef: 'Task/task-1',
      ...overrides,
    },
  };
}

function callbackTask(overrides: Partial<Task> = {}): Task {
  return {
    resourceType: 'Task',
    id: 'task-1',
    status: 'requested',
    intent: 'order',
    priority: 'routine',
    for: { reference: 'Patient/pat-0001' },
    authoredOn: '2026-11-27T11:59:00Z',
    restriction: { period: { start: '2026-11-28T14:00:00Z', end: '2026-11-28T16:00:00Z' } },
    input: [{ type: { text: 'phone' }, valueString: PHONE }],
    ...overrides,
  };
}

function taskReader(task: Task = callbackTask()): ReadTask & { calls: [string, string][] } {
  const calls: [string, string][] = [];
  const read = (connection: string, taskId: string): Promise<Task> => {
    calls.push([connection, taskId]);
    return Promise.resolve(task);
  };
  return Object.assign(read, { calls });
}

async function failure(deliver: Promise<void>): Promise<DeliveryError> {
  try {
    await deliver;
  } catch (error) {
    if (error instanceof DeliveryError) return error;
    throw error;
  }
  throw new Error('expected a DeliveryError');
}

/** Nothing that identifies the patient or opens an account is in the error. */
function expectNoSecrets(error: Error, ...secrets: string[]): void {
  const text = `${error.message} ${String(error.stack)}`;
  for (const secret of [PHONE, PHONE.slice(2), ...secrets]) expect(text).not.toContain(secret);
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------

describe('Genesys Cloud callbacks (genesys-callback)', () => {
  function genesys(
    login: StandIn,
    api: StandIn,
    readTask: ReadTask = taskReader(),
    clock: { now: number } = { now: NOW },
  ): EventDeliverer {
    return createGenesysCallbackDeliverer(
      {
        apiBase: api.base,
        loginBase: login.base,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        queueId: QUEUE_ID,
        types: ['callback.requested'],
      },
      { readTask, now: () => clock.now },
    );
  }

  it('creates the callback as Genesys documents it, with a client-credentials token', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const readTask = taskReader();
    const subscriber = subscriberSchema.parse({
      kind: 'genesys-callback',
      name: 'genesys',
      apiBase: api.base,
      loginBase: login.base,
      clientId: CLIENT_ID,
      clientSecret: CLIENT_SECRET,
      queueId: QUEUE_ID,
    });
    // Through delivererFor, as the gateway builds it (the clock is real: the window is in 2026-11-28).
    const deliverer = delivererFor(subscriber, { readTask });

    await deliverer.deliver(callbackEvent());

    expect(readTask.calls).toEqual([['epic', 'task-1']]);
    expect(login.requests).toHaveLength(1);
    const token = login.requests[0]!;
    expect(token.method).toBe('POST');
    expect(token.url).toBe('/oauth/token');
    expect(token.headers.authorization).toBe(basic(CLIENT_ID, CLIENT_SECRET));
    expect(token.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token.body))).toEqual({ grant_type: 'client_credentials' });

    expect(api.requests).toHaveLength(1);
    const create = api.requests[0]!;
    expect(create.method).toBe('POST');
    expect(create.url).toBe('/api/v2/conversations/callbacks');
    expect(create.headers.authorization).toBe('Bearer tok-1');
    expect(create.headers['content-type']).toBe('application/json');
    const body = JSON.parse(create.body);
    const scheduled =
      Date.parse('2026-11-28T14:00:00Z') > Date.now() ? '2026-11-28T14:00:00.000Z' : undefined;
    expect(body).toEqual({
      queueId: QUEUE_ID,
      callbackNumbers: [PHONE],
      ...(scheduled !== undefined ? { callbackScheduledTime: scheduled } : {}),
      data: {
        eventId: 'evt_01',
        eventType: 'callback.requested',
        resourceRef: 'Task/task-1',
        operationId: 'op_42',
        patientId: 'pat-0001',
        connection: 'epic',
      },
    });
    // No name: the agent's desktop reads the patient from Continuum by patientId.
    expect(body).not.toHaveProperty('callbackUserName');
  });

  it('schedules the callback at the window start, as yyyy-MM-ddTHH:mm:ss.SSSZ, only while it is ahead', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const clock = { now: NOW };
    const deliverer = genesys(login, api, taskReader(), clock);

    await deliverer.deliver(callbackEvent());
    expect(JSON.parse(api.requests[0]!.body).callbackScheduledTime).toBe('2026-11-28T14:00:00.000Z');

    // Delivered late, after the window opened: as soon as possible.
    clock.now = Date.parse('2026-11-28T15:00:00Z');
    await deliverer.deliver(callbackEvent());
    expect(JSON.parse(api.requests[1]!.body)).not.toHaveProperty('callbackScheduledTime');
  });

  it('reuses the token across deliveries and fetches a new one shortly before it expires', async () => {
    const login = await genesysLogin(3600);
    const api = await genesysApi();
    const clock = { now: NOW };
    const deliverer = genesys(login, api, taskReader(), clock);

    await deliverer.deliver(callbackEvent());
    clock.now += 3000_000;
    await deliverer.deliver(callbackEvent());
    expect(login.requests).toHaveLength(1);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual(['Bearer tok-1', 'Bearer tok-1']);

    // Within a minute of expires_in: fetched again before Genesys would refuse it.
    clock.now = NOW + 3570_000;
    await deliverer.deliver(callbackEvent());
    expect(login.requests).toHaveLength(2);
    expect(api.requests[2]!.headers.authorization).toBe('Bearer tok-2');
  });

  it('deliveries at the same moment share one token request', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const deliverer = genesys(login, api);

    await Promise.all([1, 2, 3].map((n) => deliverer.deliver(callbackEvent({ operationId: `op_${n}` }))));
    expect(login.requests).toHaveLength(1);
    expect(api.requests).toHaveLength(3);
  });

  it('a 401 fetches a new token and tries once more', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const deliverer = genesys(login, api);
    await deliverer.deliver(callbackEvent());

    // The token was revoked (or idled out in a HIPAA-mode org).
    api.replies.push({ status: 401, body: { code: 'authentication.required', status: 401 } });
    await deliverer.deliver(callbackEvent());

    expect(login.requests).toHaveLength(2);
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
    // The new token is kept for the next delivery.
    await deliverer.deliver(callbackEvent());
    expect(api.requests[3]!.headers.authorization).toBe('Bearer tok-2');
    expect(login.requests).toHaveLength(2);
  });

  it('a fresh token refused too is refused for good (the OAuth client must be fixed), once', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    api.fallback = () => ({ status: 401, body: { code: 'authentication.required' } });
    const error = await failure(genesys(login, api).deliver(callbackEvent()));

    expect(error.outcome).toBe('rejected');
    expect(error.status).toBe(401);
    expect(login.requests).toHaveLength(2);
    expect(api.requests).toHaveLength(2);
    expectNoSecrets(error, CLIENT_SECRET, 'tok-1', 'tok-2');
  });

  it.each([
    [429, { 'retry-after': '7' }, 'retry', 7],
    [500, {}, 'retry', undefined],
    [503, { 'retry-after': '120' }, 'retry', 120],
    [410, {}, 'gone', undefined],
    [400, {}, 'rejected', undefined],
    [403, {}, 'rejected', undefined],
  ] as const)('an API answer %i is %s', async (status, headers, outcome, retryAfter) => {
    const login = await genesysLogin();
    const api = await genesysApi();
    // Genesys error bodies may echo what they were sent: the number must not reach the error.
    api.replies.push({
      status,
      headers,
      body: { code: 'bad.request', message: `Invalid callback number ${PHONE}`, status },
    });
    const error = await failure(genesys(login, api).deliver(callbackEvent()));

    expect(error.outcome).toBe(outcome);
    expect(error.status).toBe(status);
    expect(error.retryAfterSeconds).toBe(retryAfter);
    expect(error.message).toContain(String(status));
    expect(error.message).toContain('bad.request');
    expectNoSecrets(error, CLIENT_SECRET, 'tok-1');
  });

  it('a Retry-After date is read as seconds from now', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    api.replies.push({ status: 429, headers: { 'retry-after': new Date(NOW + 30_000).toUTCString() } });
    const error = await failure(genesys(login, api).deliver(callbackEvent()));
    expect(error).toMatchObject({ outcome: 'retry', retryAfterSeconds: 30 });
  });

  it('login failures: bad credentials refused for good, an unavailable or unreachable login retried', async () => {
    const api = await genesysApi();

    const refusing = await standIn(() => ({ status: 401, body: { error: 'invalid_client' } }));
    const refused = await failure(genesys(refusing, api).deliver(callbackEvent()));
    expect(refused).toMatchObject({ outcome: 'rejected', status: 401 });
    expectNoSecrets(refused, CLIENT_SECRET);

    const down = await standIn(() => ({ status: 503, headers: { 'retry-after': '5' } }));
    expect(await failure(genesys(down, api).deliver(callbackEvent()))).toMatchObject({
      outcome: 'retry',
      status: 503,
      retryAfterSeconds: 5,
    });

    const unreachable = await failure(
      createGenesysCallbackDeliverer(
        {
          apiBase: api.base,
          loginBase: await closedBase(),
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          queueId: QUEUE_ID,
          types: ['callback.requested'],
        },
        { readTask: taskReader() },
      ).deliver(callbackEvent()),
    );
    expect(unreachable.outcome).toBe('retry');
    expectNoSecrets(unreachable, CLIENT_SECRET);
    expect(api.requests).toHaveLength(0);
  });

  it('an unreachable API is retried', async () => {
    const login = await genesysLogin();
    const deliverer = createGenesysCallbackDeliverer(
      {
        apiBase: await closedBase(),
        loginBase: login.base,
        clientId: CLIENT_ID,
        clientSecret: CLIENT_SECRET,
        queueId: QUEUE_ID,
        types: ['callback.requested'],
      },
      { readTask: taskReader() },
    );
    const error = await failure(deliverer.deliver(callbackEvent()));
    expect(error.outcome).toBe('retry');
    expectNoSecrets(error, CLIENT_SECRET, 'tok-1');
  });

  it('ignores other event types and closed Tasks, without a request', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const readTask = taskReader();
    const deliverer = genesys(login, api, readTask);

    await deliverer.deliver({ ...callbackEvent(), type: 'appointment.booked' });
    expect(readTask.calls).toHaveLength(0);

    await genesys(login, api, taskReader(callbackTask({ status: 'cancelled' }))).deliver(callbackEvent());
    await genesys(login, api, taskReader(callbackTask({ status: 'completed' }))).deliver(callbackEvent());
    expect(login.requests).toHaveLength(0);
    expect(api.requests).toHaveLength(0);
  });

  it('refuses an event without a Task reference, or a Task without an E.164 number, for good', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();

    const noRef = await failure(genesys(login, api).deliver(callbackEvent({ resourceRef: null })));
    expect(noRef.outcome).toBe('rejected');

    const notE164 = await failure(
      genesys(
        login,
        api,
        taskReader(callbackTask({ input: [{ type: { text: 'phone' }, valueString: '617-555-0199' }] })),
      ).deliver(callbackEvent()),
    );
    expect(notE164.outcome).toBe('rejected');
    expect(notE164.message).not.toContain('617-555-0199');

    const none = await failure(
      genesys(login, api, taskReader(callbackTask({ input: [] }))).deliver(callbackEvent()),
    );
    expect(none.outcome).toBe('rejected');
    expect(api.requests).toHaveLength(0);
  });

  it('a Task the EHR says is gone is refused; an EHR that cannot answer is retried', async () => {
    const login = await genesysLogin();
    const api = await genesysApi();
    const failing =
      (error: Error): ReadTask =>
      () =>
        Promise.reject(error);

    const notFound = await failure(
      genesys(login, api, failing(new ContinuumError('NOT_FOUND'))).deliver(callbackEvent()),
    );
    expect(notFound.outcome).toBe('rejected');

    const unavailable = await failure(
      genesys(login, api, failing(new ContinuumError('EHR_UNAVAILABLE', { retryAfterSeconds: 30 }))).deliver(
        callbackEvent(),
      ),
    );
    expect(unavailable).toMatchObject({ outcome: 'retry', retryAfterSeconds: 30 });

    const unknown = await failure(
      genesys(login, api, failing(new Error('socket hang up'))).deliver(callbackEvent()),
    );
    expect(unknown.outcome).toBe('retry');
    expect(api.requests).toHaveLength(0);
  });
});

describe('Twilio Studio executions (twilio-studio)', () => {
  function twilio(studio: StandIn, readTask: ReadTask = taskReader()): EventDeliverer {
    return createTwilioStudioDeliverer(
      {
        apiBase: studio.base,
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        flowSid: FLOW_SID,
        from: TWILIO_FROM,
        types: ['callback.requested'],
      },
      { readTask, now: () => NOW },
    );
  }

  it('starts an Execution as Twilio documents it', async () => {
    const studio = await twilioStudio();
    const readTask = taskReader();
    const subscriber = subscriberSchema.parse({
      kind: 'twilio-studio',
      name: 'studio',
      apiBase: studio.base,
      accountSid: ACCOUNT_SID,
      authToken: AUTH_TOKEN,
      flowSid: FLOW_SID,
      from: TWILIO_FROM,
    });
    await delivererFor(subscriber, { readTask }).deliver(callbackEvent());

    expect(readTask.calls).toEqual([['epic', 'task-1']]);
    expect(studio.requests).toHaveLength(1);
    const request = studio.requests[0]!;
    expect(request.method).toBe('POST');
    expect(request.url).toBe(`/v2/Flows/${FLOW_SID}/Executions`);
    expect(request.headers.authorization).toBe(basic(ACCOUNT_SID, AUTH_TOKEN));
    expect(request.headers['content-type']).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(request.body);
    expect([...form.keys()].sort()).toEqual(['From', 'Parameters', 'To']);
    expect(form.get('To')).toBe(PHONE);
    expect(form.get('From')).toBe(TWILIO_FROM);
    // Parameters is a JSON string, as Studio requires; references only.
    expect(JSON.parse(form.get('Parameters')!)).toEqual({
      eventId: 'evt_01',
      eventType: 'callback.requested',
      resourceRef: 'Task/task-1',
      operationId: 'op_42',
      patientId: 'pat-0001',
      connection: 'epic',
    });
  });

  it.each([
    [429, { 'retry-after': '3' }, 'retry', 3],
    [500, {}, 'retry', undefined],
    [410, {}, 'gone', undefined],
    [400, {}, 'rejected', undefined],
    [401, {}, 'rejected', undefined],
  ] as const)('an answer %i is %s', async (status, headers, outcome, retryAfter) => {
    const studio = await twilioStudio();
    studio.replies.push({
      status,
      headers,
      body: { code: 21211, message: `The 'To' number ${PHONE} is not a valid phone number.`, status },
    });
    const error = await failure(twilio(studio).deliver(callbackEvent()));

    expect(error.outcome).toBe(outcome);
    expect(error.status).toBe(status);
    expect(error.retryAfterSeconds).toBe(retryAfter);
    expect(error.message).toContain('21211');
    expectNoSecrets(error, AUTH_TOKEN);
  });

  it('an unreachable Studio is retried', async () => {
    const deliverer = createTwilioStudioDeliverer(
      {
        apiBase: await closedBase(),
        accountSid: ACCOUNT_SID,
        authToken: AUTH_TOKEN,
        flowSid: FLOW_SID,
        from: TWILIO_FROM,
        types: ['callback.requested'],
      },
      { readTask: taskReader() },
    );
    const error = await failure(deliverer.deliver(callbackEvent()));
    expect(error.outcome).toBe('retry');
    expectNoSecrets(error, AUTH_TOKEN);
  });

  it('ignores other event types and closed Tasks, without a request', async () => {
    const studio = await twilioStudio();
    await twilio(studio).deliver({ ...callbackEvent(), type: 'operation.succeeded' });
    await twilio(studio, taskReader(callbackTask({ status: 'entered-in-error' }))).deliver(callbackEvent());
    expect(studio.requests).toHaveLength(0);
  });
});

describe('platform subscriber configuration', () => {
  const genesysBase = {
    kind: 'genesys-callback',
    name: 'genesys',
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    queueId: QUEUE_ID,
  };
  const twilioBase = {
    kind: 'twilio-studio',
    name: 'studio',
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    flowSid: FLOW_SID,
    from: TWILIO_FROM,
  };

  function problems(value: unknown): string[] {
    const result = subscriberSchema.safeParse(value);
    return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  }

  it('defaults: callback.requested only; Twilio Studio at studio.twilio.com', () => {
    expect(subscriberSchema.parse({ ...genesysBase, region: 'mypurecloud.com' })).toMatchObject({
      region: 'mypurecloud.com',
      types: ['callback.requested'],
    });
    expect(subscriberSchema.parse(twilioBase)).toMatchObject({
      apiBase: 'https://studio.twilio.com',
      types: ['callback.requested'],
    });
  });

  it('names each problem', () => {
    expect(problems(genesysBase)).toEqual(['region: required (or apiBase and loginBase)']);
    expect(
      problems({ ...genesysBase, region: 'mypurecloud.com', apiBase: 'https://api.example.org' }),
    ).toEqual([
      'region: give region or apiBase and loginBase, not both',
      'loginBase: required with apiBase or loginBase',
    ]);
    expect(
      problems({ ...genesysBase, apiBase: 'http://api.example.org', loginBase: 'https://login.example.org' }),
    ).toEqual(['apiBase: must be an https URL']);
    expect(problems({ ...genesysBase, region: 'mypurecloud.com', queueId: 'support' })).toEqual([
      'queueId: must be a Genesys Cloud queue id (a UUID)',
    ]);
    expect(problems({ ...twilioBase, types: ['appointment.booked'] })).toEqual([
      'types.0: only callback.requested: platform subscribers call the number of the Task it names',
    ]);
    expect(problems({ ...twilioBase, from: '617-555-0100', accountSid: 'nope' })).toEqual([
      'accountSid: must be an account SID (AC and 32 hex digits)',
      'from: must be an E.164 number or a Messaging Service SID',
    ]);
  });

  it('secrets come from the environment', () => {
    const cwd = mkdtempSync(join(tmpdir(), 'continuum-config-'));
    writeFileSync(
      join(cwd, 'continuum.config.yaml'),
      `
events:
  subscribers:
    - kind: genesys-callback
      name: genesys
      region: usw2.pure.cloud
      clientId: \${GENESYS_CLIENT_ID}
      clientSecret: \${GENESYS_CLIENT_SECRET}
      queueId: ${QUEUE_ID}
    - kind: twilio-studio
      name: studio
      accountSid: \${TWILIO_ACCOUNT_SID}
      authToken: \${TWILIO_AUTH_TOKEN}
      flowSid: ${FLOW_SID}
      from: '${TWILIO_FROM}'
`,
    );
    const config = loadConfig({
      env: {
        GENESYS_CLIENT_ID: CLIENT_ID,
        GENESYS_CLIENT_SECRET: CLIENT_SECRET,
        TWILIO_ACCOUNT_SID: ACCOUNT_SID,
        TWILIO_AUTH_TOKEN: AUTH_TOKEN,
      },
      cwd,
      builtInMappingsDir: join(__dirname, '../../mappings'),
    });
    expect(config.events.subscribers).toMatchObject([
      { kind: 'genesys-callback', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      { kind: 'twilio-studio', accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN },
    ]);
  });
});
