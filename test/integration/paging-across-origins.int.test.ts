/**
 * An EHR behind a load balancer answers searches in pages whose `next` links name another origin
 * (here: a second proxy port in front of the same sandbox). A connection that allows that origin
 * gets every page; one that does not stops after the first and says so, everywhere the partial
 * answer goes: the appointment list (also flat), the summary, the cache warm-up and the
 * Subscription sync, which must not create a Subscription that may sit on a page it did not read.
 */
import { randomBytes } from 'node:crypto';
import { createFhirR4Client } from '../../adapters/ehr/fhir-r4/fhir-r4-client';
import { syncSubscriptions } from '../../src/use-cases/sync-subscriptions';
import { deriveSandboxCredential } from '../../src/wiring/sandbox-credential';
import { http, type JsonResponse } from '../support/http';
import { waitFor } from '../support/wait-for';
import { startNextLinkProxy, type NextLinkProxy } from '../support/next-link-proxy';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

const DAY_MS = 86_400_000;
/** Each page the EHR answers holds this many: a patient's few visits span several pages. */
const PAGE_SIZE = 2;
const WEBHOOK_SECRET = 'a-webhook-secret-for-the-ehr';

let front: NextLinkProxy;
let internal: NextLinkProxy;
let gw: TestGateway;
let credential: string;
let desk: Record<string, string>;

interface FhirAppointment {
  id: string;
  status: string;
  start: string;
  participant: { actor?: { reference?: string } }[];
}

beforeAll(async () => {
  front = await startNextLinkProxy({ pageSize: PAGE_SIZE });
  internal = await startNextLinkProxy({ pageSize: PAGE_SIZE });
  const dataKey = randomBytes(32);
  credential = deriveSandboxCredential(dataKey);
  const connection = {
    baseUrl: `${front.origin}/sandbox/fhir`,
    sandboxEhr: true,
    webhooks: { scheme: 'bearer', secret: WEBHOOK_SECRET },
    auth: { type: 'bearer', token: credential },
    maxWritesPerSecond: 0,
  };
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      encryption: { key: dataKey.toString('base64') },
      connections: {
        trusting: { ...connection, paging: { allowedOrigins: [internal.origin] } },
        strict: connection,
      },
    },
  });
  for (const proxy of [front, internal]) {
    proxy.setTarget(gw.url);
    proxy.setNextOrigin(internal.origin);
  }
  desk = await scopedClient(gw.prefix, 'desk', ['patients:read', 'appointments:read']);
});
afterAll(async () => {
  await gw.stop();
  await front.close();
  await internal.close();
});

/** Every appointment in [from, to), straight from the sandbox, all pages. */
async function ehrAppointments(from: Date, to: Date): Promise<FhirAppointment[]> {
  const found: FhirAppointment[] = [];
  let url: string | undefined =
    `${gw.fhirBase}/Appointment?date=ge${from.toISOString()}&date=lt${to.toISOString()}&_count=500`;
  while (url !== undefined) {
    const page: JsonResponse = await http('GET', url);
    found.push(...((page.body.entry ?? []) as { resource: FhirAppointment }[]).map((e) => e.resource));
    url = (page.body.link as { relation: string; url: string }[] | undefined)?.find(
      (l) => l.relation === 'next',
    )?.url;
  }
  return found;
}

const patientOf = (a: FhirAppointment): string | undefined =>
  a.participant.find((p) => p.actor?.reference?.startsWith('Patient/'))?.actor?.reference?.split('/')[1];

/** A patient with 3 to 10 booked visits ahead in the window: several pages, fewer than the page limit. */
async function patientWithSeveralPages(from: Date, to: Date): Promise<{ id: string; ids: string[] }> {
  const byPatient = new Map<string, FhirAppointment[]>();
  for (const a of await ehrAppointments(from, to)) {
    const id = patientOf(a);
    if (id !== undefined) byPatient.set(id, [...(byPatient.get(id) ?? []), a]);
  }
  for (const [id, list] of byPatient) {
    const upcoming = list.filter((a) => a.status === 'booked' && Date.parse(a.start) > Date.now());
    if (list.length >= 3 && list.length <= 10 && upcoming.length >= 3) {
      return { id, ids: list.map((a) => a.id).sort() };
    }
  }
  throw new Error('the seed has no patient with 3 to 10 appointments in the window');
}

describe('a patient appointment list whose EHR pages on another origin', () => {
  // Whole UTC days, so the EHR is asked for exactly this window.
  const from = new Date(Math.floor(Date.now() / DAY_MS) * DAY_MS);
  const to = new Date(from.getTime() + 60 * DAY_MS);
  const list = (connection: string, id: string, extra = '') =>
    http(
      'GET',
      `${gw.url}/v1/patients/${id}/appointments?connection=${connection}&from=${from.toISOString()}&to=${to.toISOString()}${extra}`,
      { headers: desk },
    );

  it('lists every visit when the connection allows that origin', async () => {
    const { id, ids } = await patientWithSeveralPages(from, to);
    const before = internal.seen.length;
    const answer = await list('trusting', id);
    expect(answer.status).toBe(200);
    expect(answer.body.appointments.map((a: { id: string }) => a.id).sort()).toEqual(ids);
    expect(answer.body).not.toHaveProperty('truncated');
    // The later pages came from the other origin, with the connection's credential.
    const followed = internal.seen.slice(before).filter((r) => r.url.includes('/Appointment?'));
    expect(followed.length).toBe(Math.ceil(ids.length / PAGE_SIZE) - 1);
    expect(followed.every((r) => r.authorized)).toBe(true);
  });

  it('says the list is truncated, and why, when it does not; and sends nothing to that origin', async () => {
    const { id, ids } = await patientWithSeveralPages(from, to);
    const before = internal.seen.length;
    const answer = await list('strict', id);
    expect(answer.status).toBe(200);
    expect(answer.body.appointments).toHaveLength(PAGE_SIZE);
    expect(ids).toEqual(expect.arrayContaining(answer.body.appointments.map((a: { id: string }) => a.id)));
    expect(answer.body).toMatchObject({ truncated: true, truncatedReason: 'next-link-origin' });
    expect(internal.seen.length).toBe(before);

    const flat = await list('strict', id, '&shape=flat');
    expect(flat.body).toMatchObject({
      truncated: 'true',
      truncatedReason: 'next-link-origin',
      appointments_count: String(PAGE_SIZE),
    });
    expect(flat.body).not.toHaveProperty('truncated_2');

    const summary = await http('GET', `${gw.url}/v1/patients/${id}/summary?connection=strict`, {
      headers: desk,
    });
    expect(summary.body).toMatchObject({
      appointmentsAvailable: true,
      appointmentsTruncated: true,
      appointmentsTruncatedReason: 'next-link-origin',
    });

    // The operator is told which connection and why, and nothing of the search itself.
    const warnings = gw.logs
      .lines()
      .filter((l) => l.connection === 'strict' && l.reason === 'next-link-origin');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({
      level: 40,
      resourceType: 'Appointment',
      nextOrigin: internal.origin,
    });
    for (const line of warnings) {
      expect(JSON.stringify(line)).not.toContain(id);
      expect(JSON.stringify(line)).not.toContain('_count');
    }
  });
});

it('counts the searches the cache warm-up got only in part', async () => {
  const run = await gw.gateway.warmCache('strict');
  expect(run).toMatchObject({ locked: false, truncatedSearches: 1, appointments: PAGE_SIZE });
  expect(run).not.toHaveProperty('stoppedEarly');
});

it('syncs Subscriptions listed over several pages, and creates none it may have missed', async () => {
  const client = (allowedPageOrigins: readonly string[]) =>
    createFhirR4Client({
      connection: 'ehr',
      baseUrl: `${front.origin}/sandbox/fhir`,
      auth: { type: 'bearer', token: credential },
      defaultDeadlineMs: 5000,
      allowedPageOrigins,
    });
  const target = {
    connection: 'ehr',
    publicUrl: `http://127.0.0.1:9/webhooks/ehr/paging-${randomBytes(4).toString('hex')}`,
    resources: ['Patient', 'Appointment', 'Encounter'],
    webhooks: { scheme: 'bearer', secret: 'a-bearer-secret-of-some-length' } as const,
  };
  const created = await syncSubscriptions(client([internal.origin]), target);
  expect(created.map((r) => r.action)).toEqual(['created', 'created', 'created']);
  // Three for the URL, two a page: all found through the allowed origin.
  const again = await syncSubscriptions(client([internal.origin]), target);
  expect(again.map((r) => r.action)).toEqual(['unchanged', 'unchanged', 'unchanged']);

  const cut = await syncSubscriptions(client([]), target);
  expect(cut.map((r) => r.action).sort()).toEqual(['error', 'unchanged', 'unchanged']);
  const error = cut.find((r) => r.action === 'error');
  expect(error).toMatchObject({
    detail: expect.stringContaining(
      'cut short (the next page is on a host the connection does not allow: see connections.ehr.paging.allowedOrigins)',
    ),
  });
  const stored = await http(
    'GET',
    `${gw.fhirBase}/Subscription?url=${encodeURIComponent(target.publicUrl)}&_count=50`,
  );
  expect(stored.body.entry).toHaveLength(3);
});

it('re-reads what changed after an empty notification, and says when it got only part of it', async () => {
  const ping = (connection: string, id: string) =>
    http('POST', `${gw.url}/webhooks/ehr/${connection}`, {
      raw: '',
      headers: { authorization: `Bearer ${WEBHOOK_SECRET}`, 'x-event-id': id },
    });
  const applied = (connection: string, eventId: string) =>
    waitFor(
      () =>
        Promise.resolve(
          gw.logs
            .lines()
            .find(
              (l) => l.connection === connection && String(l.eventId).endsWith(eventId) && 'refreshed' in l,
            ),
        ),
      { timeoutMs: 20000, what: `notification ${eventId} applied` },
    );
  // The first empty notification of a connection sets where the next one re-reads from.
  for (const connection of ['trusting', 'strict']) {
    const first = await ping(connection, `first-${connection}`);
    expect(first.status).toBe(202);
    await applied(connection, `first-${connection}`);
  }
  // More changed Patients than one page holds.
  for (const id of ['pat-0101', 'pat-0102', 'pat-0103']) {
    const patient = (await http('GET', `${gw.fhirBase}/Patient/${id}`)).body;
    const changed = await http('PUT', `${gw.fhirBase}/Patient/${id}`, {
      body: { ...patient, active: patient.active !== true },
      headers: { 'content-type': 'application/fhir+json' },
    });
    expect(changed.status).toBe(200);
  }
  for (const connection of ['trusting', 'strict']) {
    expect((await ping(connection, `second-${connection}`)).status).toBe(202);
  }
  const whole = await applied('trusting', 'second-trusting');
  expect(whole).toMatchObject({ level: 30, msg: 'EHR notification applied' });
  expect(whole.refreshed).toBeGreaterThanOrEqual(3);
  expect(whole).not.toHaveProperty('incomplete');
  const part = await applied('strict', 'second-strict');
  expect(part).toMatchObject({
    level: 40,
    incomplete: true,
    refreshed: PAGE_SIZE,
    msg: expect.stringContaining('in part'),
  });
});
