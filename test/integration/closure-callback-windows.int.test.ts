/**
 * A closure without a callback window of its own books each patient's callback into the contact
 * center's callback windows, sharing their capacity with the IVR's one-step requests: capacity 5
 * and a closure of a dozen patients fills consecutive windows, none over 5, one place per patient
 * however often the run is interrupted and resumed, and the patient's notice says when the call
 * comes. When every window is full the callbacks are still queued, without a window, and the
 * progress says how many.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisCallbackBook } from '../../adapters/redis/callback-book';
import { upcomingWindows, type CallbackWindowRules } from '../../src/domain/callback-windows';
import { http } from '../support/http';
import { TEST_REDIS_URL } from '../support/redis';
import { scopedClient } from '../support/scoped-client';
import { closedDays, finished, searchAll, waitForClosure } from '../support/site-closure';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(240_000);

const ALL_DAY = '00:00-24:00';
const WINDOWS: CallbackWindowRules = {
  timeZone: 'UTC',
  hours: { sun: ALL_DAY, mon: ALL_DAY, tue: ALL_DAY, wed: ALL_DAY, thu: ALL_DAY, fri: ALL_DAY, sat: ALL_DAY },
  lengthMinutes: 120,
  capacity: 5,
  minRemainingMinutes: 0,
  searchDays: 3,
};
const LOCATION = 'loc-0001';

interface Clients {
  readonly lead: Record<string, string>;
  readonly ivr: Record<string, string>;
}

async function start(windows: CallbackWindowRules, extra: Record<string, unknown> = {}) {
  const gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: {
        sandbox: { maxWritesPerSecond: 4, breaker: { failureThreshold: 50, probeIntervalMs: 400 } },
      },
      callbacks: { windows },
      ...extra,
    },
  });
  const clients: Clients = {
    lead: await scopedClient(gw.prefix, 'crisis-lead', ['crisis:admin']),
    ivr: await scopedClient(gw.prefix, 'ivr', ['calls:write', 'appointments:read', 'operations:read']),
  };
  return { gw, clients };
}

const body = (from: string, to: string) => ({
  locations: [LOCATION],
  from,
  to,
  action: 'hold-for-reschedule',
  reason: 'weather',
  callback: { priority: 'urgent' },
});

/** The first one, two or three closed days that hold at least ten patients, per a dry run. */
async function scopeOfAboutTwelve(gw: TestGateway, lead: Record<string, string>) {
  const { from } = closedDays(0);
  let last: { from: string; to: string; patients: string[] } | undefined;
  for (const days of [1, 2, 3]) {
    const to = new Date(Date.parse(from) + days * 86_400_000).toISOString();
    const dry = await http('POST', `${gw.url}/v1/crisis/closures`, {
      body: { ...body(from, to), dryRun: true },
      headers: lead,
    });
    expect(dry.status).toBe(200);
    last = { from, to, patients: (dry.body.patientRefs as string[]).map((r) => r.slice('Patient/'.length)) };
    if (last.patients.length >= 10) break;
  }
  return last!;
}

/** The closure's callback Tasks in the EHR, per patient. */
async function callbackTasks(fhirBase: string, patients: readonly string[]): Promise<Map<string, any[]>> {
  const tasks = await searchAll(fhirBase, 'Task');
  const byPatient = new Map<string, any[]>(patients.map((p) => [p, []]));
  for (const task of tasks) {
    const patient = String(task.for?.reference ?? '').slice('Patient/'.length);
    byPatient.get(patient)?.push(task);
  }
  return byPatient;
}

async function ivrRequest(gw: TestGateway, ivr: Record<string, string>, patientId: string) {
  const res = await http('POST', `${gw.url}/v1/patients/${patientId}/callback-request`, {
    body: { phone: '+16175550142', priority: 'routine' },
    headers: ivr,
  });
  expect(res.status).toBe(202);
  return res.body.window as { start: string; end: string };
}

describe('windows with room', () => {
  let gw: TestGateway;
  let clients: Clients;
  beforeAll(async () => {
    ({ gw, clients } = await start(WINDOWS, { storage: { queuedWritesPerClient: 8 } }));
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('books each patient one place in the shared windows, none over capacity, and takes no second place on a re-run or a resubmission', async () => {
    const { lead, ivr } = clients;
    const scope = await scopeOfAboutTwelve(gw, lead);
    const outsiders = ['pat-0201', 'pat-0202', 'pat-0203'].filter((p) => !scope.patients.includes(p));
    const candidates = upcomingWindows(WINDOWS, new Date()).map((w) => w.start);

    // Two IVR callers first: the closure must count their places.
    const before = [await ivrRequest(gw, ivr, outsiders[0]!), await ivrRequest(gw, ivr, outsiders[1]!)];
    const submitted = await http('POST', `${gw.url}/v1/crisis/closures`, {
      body: body(scope.from, scope.to),
      headers: lead,
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    // At most 8 waiting writes per client and 4 writes a second to the EHR: the run is refused for
    // now again and again, and resumes from its checkpoint each time.
    const progress = await waitForClosure(gw.url, id, lead, finished, {
      timeoutMs: 180_000,
      what: 'the closure to complete',
    });
    const after = await ivrRequest(gw, ivr, outsiders[2]!);
    expect(progress).toMatchObject({
      status: 'completed',
      callbacks: { total: scope.patients.length, done: scope.patients.length, failed: 0, unscheduled: 0 },
    });
    const interruptions = (gw.logs.text().match(/closure run interrupted/g) ?? []).length;
    const callbackRetries = (gw.logs.text().match(/callbacks refused for now/g) ?? []).length;

    // One Task per patient, each with a window of the configured ones.
    const tasks = await callbackTasks(gw.fhirBase, scope.patients);
    const windowOf = new Map<string, string>();
    for (const [patient, own] of tasks) {
      expect(own).toHaveLength(1);
      const period = own[0].restriction?.period;
      expect(candidates).toContain(period?.start);
      expect(Date.parse(period.end) - Date.parse(period.start)).toBe(WINDOWS.lengthMinutes * 60_000);
      windowOf.set(patient, period.start as string);
    }

    // Shared capacity: closure and IVR places together, per window, as the book counts them.
    const perWindow = new Map<string, number>();
    for (const start of [...windowOf.values(), ...before.map((w) => w.start), after.start]) {
      perWindow.set(start, (perWindow.get(start) ?? 0) + 1);
    }
    const used = [...perWindow.keys()].sort();
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
    try {
      const book = createRedisCallbackBook({ redis, prefix: `{${gw.prefix}}` });
      const taken = await book.taken(
        'default',
        used.map((start) => ({ start, end: '' })),
      );
      console.log(
        `closure of ${scope.patients.length} patients + 3 IVR requests, capacity ${WINDOWS.capacity}: ` +
          `windows ${JSON.stringify(Object.fromEntries([...perWindow].sort()))}, book ${JSON.stringify(taken)}, ` +
          `run interrupted ${interruptions} times (${callbackRetries} while queuing callbacks), ` +
          `${progress.ratePerMinute as number} writes/min`,
      );
      // Batches of ten against a cap of eight: the run was refused and resumed mid-callbacks.
      expect(callbackRetries).toBeGreaterThanOrEqual(1);
      // The book counts exactly the callbacks made: a resumed run took no second place.
      expect(taken).toEqual(used.map((start) => perWindow.get(start)));
      for (const count of perWindow.values()) expect(count).toBeLessThanOrEqual(WINDOWS.capacity);
      // The closure's windows follow one another, each full before the next is used.
      const closureWindows = [...new Set(windowOf.values())].sort();
      const first = candidates.indexOf(closureWindows[0]!);
      expect(closureWindows).toEqual(candidates.slice(first, first + closureWindows.length));
      for (const start of closureWindows.slice(0, -1)) expect(perWindow.get(start)).toBe(WINDOWS.capacity);
      expect(closureWindows.length).toBeGreaterThanOrEqual(
        Math.ceil(scope.patients.length / WINDOWS.capacity),
      );

      // Submitted again: the same closure, no new Task, no new place.
      const again = await http('POST', `${gw.url}/v1/crisis/closures`, {
        body: body(scope.from, scope.to),
        headers: lead,
      });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(id);
      expect(
        await book.taken(
          'default',
          used.map((start) => ({ start, end: '' })),
        ),
      ).toEqual(taken);
      const tasksAgain = await callbackTasks(gw.fhirBase, scope.patients);
      for (const own of tasksAgain.values()) expect(own).toHaveLength(1);
    } finally {
      redis.disconnect();
    }

    // The notice says when: in the windows' time zone (UTC here), and flat for IVR flows.
    const patient = scope.patients[0]!;
    const start = new Date(windowOf.get(patient)!);
    const hhmm = (at: Date) => at.toISOString().slice(11, 16);
    const notices = await http('GET', `${gw.url}/v1/patients/${patient}/notices`, { headers: ivr });
    expect(notices.status).toBe(200);
    const callback = (notices.body.notices as any[]).find((n) => n.kind === 'callback-scheduled');
    const end = new Date(start.getTime() + WINDOWS.lengthMinutes * 60_000);
    expect(callback).toMatchObject({
      state: 'done',
      callbackStart: start.toISOString(),
      callbackEnd: end.toISOString(),
    });
    const day = start.toLocaleDateString('en-GB', {
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      timeZone: 'UTC',
    });
    const endWords = end.getUTCDate() === start.getUTCDate() ? '' : '\\w+ \\d+ \\w+ ';
    expect(callback.text).toMatch(
      new RegExp(
        `^We will call you back on ${day.replace(',', '')} between ${hhmm(start)} and ${endWords}${hhmm(end)} UTC\\.$`,
      ),
    );
    console.log(`notice: ${callback.text as string}`);
    const flat = await http('GET', `${gw.url}/v1/patients/${patient}/notices?shape=flat`, { headers: ivr });
    expect(flat.status).toBe(200);
    const startKey = Object.keys(flat.body).find((k) => /^notices\d+_callbackStart$/.test(k));
    expect(startKey).toBeDefined();
    expect(flat.body[startKey!]).toBe(start.toISOString());
    expect(flat.body[startKey!.replace('Start', 'End')]).toBe(end.toISOString());
  });
});

describe('every window full', () => {
  let gw: TestGateway;
  let clients: Clients;
  // One two-hour window a day, one place each, over one day: at most two places in the horizon.
  const TIGHT: CallbackWindowRules = {
    ...WINDOWS,
    hours: Object.fromEntries(Object.keys(WINDOWS.hours).map((d) => [d, '22:00-24:00'])),
    capacity: 1,
    searchDays: 1,
  };
  beforeAll(async () => {
    ({ gw, clients } = await start(TIGHT));
  });
  afterAll(async () => {
    await gw.stop();
  });

  it('queues the callbacks past capacity without a window and says how many', async () => {
    const { lead, ivr } = clients;
    const scope = await scopeOfAboutTwelve(gw, lead);
    const places = upcomingWindows(TIGHT, new Date()).length * TIGHT.capacity;
    const submitted = await http('POST', `${gw.url}/v1/crisis/closures`, {
      body: body(scope.from, scope.to),
      headers: lead,
    });
    expect(submitted.status).toBe(202);
    const progress = await waitForClosure(gw.url, submitted.body.id as string, lead, finished, {
      timeoutMs: 180_000,
    });
    const tasks = await callbackTasks(gw.fhirBase, scope.patients);
    const windowed = [...tasks.values()].filter((own) => own[0]?.restriction?.period?.start !== undefined);
    console.log(
      `tight windows: ${scope.patients.length} patients, ${places} places, ${windowed.length} with a window, ` +
        `progress callbacks ${JSON.stringify(progress.callbacks)}`,
    );
    // Never dropped: every patient has a callback, with a window or without.
    for (const own of tasks.values()) expect(own).toHaveLength(1);
    expect(windowed).toHaveLength(Math.min(places, scope.patients.length));
    expect(progress.callbacks).toMatchObject({
      total: scope.patients.length,
      done: scope.patients.length,
      unscheduled: scope.patients.length - windowed.length,
    });
    const unscheduled = scope.patients.find(
      (p) => tasks.get(p)?.[0]?.restriction?.period?.start === undefined,
    )!;
    const notices = await http('GET', `${gw.url}/v1/patients/${unscheduled}/notices`, { headers: ivr });
    const callback = (notices.body.notices as any[]).find((n) => n.kind === 'callback-scheduled');
    expect(callback).toMatchObject({
      text: 'We will call you back as soon as we can.',
      callbackStart: null,
      callbackEnd: null,
    });
  });
});

it('holds one place per holder in Redis, whatever the repeats', async () => {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  const book = createRedisCallbackBook({ redis, prefix: `t-${randomUUID().slice(0, 12)}` });
  const windows = upcomingWindows(WINDOWS, new Date()).slice(0, 2);
  try {
    // A run that crashed after taking its place and asks again gets the same window, counted once.
    const first = await book.reserveFor('default', 'clo_x:callback:p1', windows, 1);
    const again = await book.reserveFor('default', 'clo_x:callback:p1', windows, 1);
    expect(again).toEqual(first);
    expect(first).toEqual(windows[0]);
    expect(await book.taken('default', windows)).toEqual([1, 0]);
    expect(await book.reserveFor('default', 'clo_x:callback:p2', windows, 1)).toEqual(windows[1]);
    expect(await book.reserveFor('default', 'clo_x:callback:p3', windows, 1)).toBeUndefined();
    // Given back twice, counted down once.
    await book.releaseFor('default', 'clo_x:callback:p1');
    await book.releaseFor('default', 'clo_x:callback:p1');
    expect(await book.taken('default', windows)).toEqual([0, 1]);
  } finally {
    redis.disconnect();
  }
});
