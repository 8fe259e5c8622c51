/**
 * The cache warm-up: patients with appointments in the next days have their summary cached before
 * any agent reads them, so an outage still finds them; only the configured locations count; one
 * run per connection and interval; and nothing about the patients reaches the logs.
 */
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { TEST_REDIS_URL } from '../support/redis';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { phiFound } from '../support/phi-words';

const DAY_MS = 86_400_000;
/** Days warmed ahead: enough to reach past a weekend, when the sandbox clinic is closed. */
const DAYS = 4;
/** The warm-up's statuses (the summary's "upcoming" ones). */
const UPCOMING = 'arrived,booked,checked-in,pending,proposed,waitlist';

interface FhirAppointment {
  id: string;
  status: string;
  start: string;
  participant: { actor?: { reference?: string } }[];
}

const refOf = (appointment: FhirAppointment, type: string): string | undefined =>
  appointment.participant
    .map((p) => p.actor?.reference)
    .find((ref) => ref?.startsWith(`${type}/`))
    ?.split('/')[1];

const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      cache: { warmup: { enabled: false, days: DAYS } },
      // The size the second gateway's sandbox gets too: the same seed and size give the same clinic.
      sandbox: { enabled: true, patientCount: 220 },
      // A loaded test machine can hold a 400 ms read past the 2.5 s default: these tests are about
      // what the warm-up refreshes, not about the read deadline.
      connections: { sandbox: { readDeadlineMs: 10000 } },
    },
  });
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

async function searchAppointments(fhirBase: string, query: string): Promise<FhirAppointment[]> {
  const bundle = await http('GET', `${fhirBase}/Appointment?${query}&_count=1000`);
  expect(bundle.status).toBe(200);
  return ((bundle.body.entry ?? []) as { resource: FhirAppointment }[]).map((e) => e.resource);
}

/** What the warm-up should find: the appointments of the next DAYS days, straight from the EHR. */
async function windowAppointments(fhirBase: string): Promise<FhirAppointment[]> {
  const now = Date.now();
  const from = new Date(now).toISOString();
  const to = new Date(now + DAYS * DAY_MS).toISOString();
  return searchAppointments(fhirBase, `date=ge${from}&date=lt${to}&status=${UPCOMING}`);
}

async function deleteLock(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  try {
    await redis.del(`{${prefix}}:warmup-lock:sandbox`);
  } finally {
    redis.disconnect();
  }
}

/** A booked appointment on the next clinic day: tomorrow, unless that falls on the weekend. */
async function nextDayAppointment(): Promise<FhirAppointment> {
  // Every day before DAYS ends inside the warmed window.
  for (let day = 1; day < DAYS; day++) {
    const from = utcDay(Date.now() + day * DAY_MS);
    const to = utcDay(Date.now() + (day + 1) * DAY_MS);
    const booked = await searchAppointments(gw.fhirBase, `date=ge${from}&date=lt${to}&status=booked`);
    const appointment = booked.find((a) => refOf(a, 'Patient') !== undefined);
    if (appointment !== undefined) return appointment;
  }
  throw new Error(`the seed has no booked appointment in the next ${DAYS} days`);
}

it('caches the summaries of the next clinic day’s patients, so an outage still shows a patient nobody read', async () => {
  const appointment = await nextDayAppointment();
  const patientId = refOf(appointment, 'Patient') as string;
  const patient = (await http('GET', `${gw.fhirBase}/Patient/${patientId}`)).body;
  const expectedPatients = new Set((await windowAppointments(gw.fhirBase)).map((a) => refOf(a, 'Patient')));

  // Two runs at once: the lock lets one of them do the work.
  const runs = await Promise.all([gw.gateway.warmCache('sandbox'), gw.gateway.warmCache()]);
  expect(runs.filter((r) => r.locked)).toHaveLength(1);
  const done = runs.find((r) => !r.locked);
  expect(done).toMatchObject({
    locked: false,
    patients: expectedPatients.size,
    skipped: 0,
    durationMs: expect.any(Number),
  });
  expect(done).not.toHaveProperty('stoppedEarly');
  expect((done as { appointments: number }).appointments).toBeGreaterThanOrEqual(expectedPatients.size);
  // The lock holds for the interval: a later run in it does nothing either.
  expect(await gw.gateway.warmCache()).toEqual({ locked: true });

  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });

  const summary = await http('GET', `${gw.url}/v1/patients/${patientId}/summary`);
  expect(summary.status).toBe(200);
  expect(summary.body).toMatchObject({
    id: patientId,
    freshness: { source: 'cache' },
    appointmentsAvailable: true,
  });
  expect(summary.body.name.family).toBe(patient.name[0].family);
  expect(summary.body.upcomingAppointments.map((a: { id: string }) => a.id)).toContain(appointment.id);

  // The reads refreshed the phone index too: the caller's number finds the patient.
  const phone = (patient.telecom ?? []).find((t: { system: string }) => t.system === 'phone')?.value;
  if (phone !== undefined) {
    const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`);
    expect(lookup.status).toBe(200);
    expect(lookup.body.freshness.source).toBe('cache');
    expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(patientId);
  }

  const finished = gw.logs.lines().find((l) => l.msg === 'continuity cache warm-up finished');
  expect(finished).toMatchObject({ connection: 'sandbox', patients: expectedPatients.size });
  const logs = gw.logs.text();
  expect(phiFound(logs, [patient.name[0].family, patient.birthDate])).toEqual([]);
});

it('stops at once when the EHR is down, and warms nothing', async () => {
  await deleteLock(gw.prefix);
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const run = await gw.gateway.warmCache();
  expect(run).toMatchObject({ locked: false, patients: 0, stoppedEarly: 'ehr-unavailable' });
});

it('refreshes what is cached even from an EHR slower than an agent read waits with a cached answer', async () => {
  // Once these summaries are cached, an agent's read takes the cache after staleAfterMs (250 ms).
  // The warm-up is there to refresh it: it waits for the EHR.
  const expectedPatients = new Set((await windowAppointments(gw.fhirBase)).map((a) => refOf(a, 'Patient')));
  await deleteLock(gw.prefix);
  expect(await gw.gateway.warmCache()).toMatchObject({ locked: false, skipped: 0 });
  await deleteLock(gw.prefix);
  await setFaults(gw.url, { mode: 'slow', latencyMs: 400, paths: ['Patient'] });
  const run = await gw.gateway.warmCache();
  expect(run).toMatchObject({ locked: false, patients: expectedPatients.size, skipped: 0 });
  expect(run).not.toHaveProperty('stoppedEarly');
}, 120_000);

describe('with locations configured', () => {
  let other: TestGateway;
  let location: string;
  let inside: string[];
  let outside: string[];

  beforeAll(async () => {
    // The same seed and size give the same clinic: pick a location from the first gateway's sandbox.
    const appointments = await windowAppointments(gw.fhirBase);
    const locationsOf = new Map<string, Set<string>>();
    for (const a of appointments) {
      const patient = refOf(a, 'Patient');
      const at = refOf(a, 'Location');
      if (patient === undefined || at === undefined) continue;
      locationsOf.set(patient, (locationsOf.get(patient) ?? new Set()).add(at));
    }
    const counts = new Map<string, number>();
    for (const set of locationsOf.values()) for (const at of set) counts.set(at, (counts.get(at) ?? 0) + 1);
    // The location with the fewest patients that still has some: most patients are elsewhere.
    const picked = [...counts.entries()].sort((a, b) => a[1] - b[1])[0];
    if (picked === undefined) throw new Error(`the seed has no appointments in the next ${DAYS} days`);
    location = picked[0];
    inside = [...locationsOf].filter(([, at]) => at.has(location)).map(([id]) => id);
    outside = [...locationsOf].filter(([, at]) => !at.has(location)).map(([id]) => id);
    other = await startTestGateway({
      overrides: { cache: { warmup: { enabled: false, days: DAYS, locations: [location] } } },
    });
  });
  afterEach(async () => {
    await setFaults(other.url, { mode: 'up' });
  });
  afterAll(async () => {
    await other.stop();
  });

  it('warms only the patients with appointments at those locations', async () => {
    expect(inside.length).toBeGreaterThan(0);
    expect(outside.length).toBeGreaterThan(0);
    const run = await other.gateway.warmCache();
    expect(run).toMatchObject({ locked: false, patients: inside.length, skipped: 0 });

    await setFaults(other.url, { mode: 'down', kind: 'refuse' });
    const warmed = await http('GET', `${other.url}/v1/patients/${inside[0]}/summary`);
    expect(warmed.status).toBe(200);
    expect(warmed.body.freshness.source).toBe('cache');
    const cold = await http('GET', `${other.url}/v1/patients/${outside[0]}/summary`);
    expect(cold.status).toBe(503);
    expect(cold.body.code).toBe('EHR_UNAVAILABLE');
  });
});
