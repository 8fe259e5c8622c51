/**
 * Crisis activations and the notices they publish, as a crisis lead and an IVR see them: declared,
 * listed, ended, announced to the tenant's subscribers only, confined to the tenant, and read out
 * by location, also while the EHR is down.
 */
import { createServer, type Server } from 'node:http';
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

const secret = (text: string): string => `whsec_${Buffer.from(text).toString('base64')}`;

interface Received {
  readonly desk: string;
  readonly type: string;
  readonly data: Record<string, unknown>;
}

let server: Server;
let gw: TestGateway;
const received: Received[] = [];
let lead: Record<string, string>;
let southLead: Record<string, string>;
let northLead: Record<string, string>;
let northIvr: Record<string, string>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Received;
      received.push({ desk: req.url ?? '', type: body.type, data: body.data });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const desk = (tenant: string) => ({
    kind: 'webhook',
    name: `desk-${tenant}`,
    url: `${base}/${tenant}`,
    secret: secret(`desk-${tenant}-secret-0123`),
    tenant,
  });
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { breaker: { failureThreshold: 2, probeIntervalMs: 400 } }, other: {} },
      defaultConnection: 'sandbox',
      tenants: {
        default: { connections: ['sandbox'] },
        south: { connections: ['other'] },
        north: { connections: ['sandbox'] },
      },
      events: { subscribers: [desk('default'), desk('south')] },
    },
  });
  lead = await scopedClient(gw.prefix, 'crisis-lead', ['crisis:admin']);
  southLead = await scopedClient(gw.prefix, 'south-lead', ['crisis:admin'], 'south');
  northLead = await scopedClient(gw.prefix, 'north-lead', ['crisis:admin'], 'north');
  northIvr = await scopedClient(gw.prefix, 'north-ivr', ['patients:lookup'], 'north');
});
afterAll(async () => {
  await gw.stop();
  await new Promise((resolve) => server.close(resolve));
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});

const declare = (
  headers: Record<string, string>,
  body: Record<string, unknown>,
  extra: Record<string, string> = {},
) => http('POST', `${gw.url}/v1/crisis/activations`, { body, headers: { ...headers, ...extra } });

const eventsOf = (activationId: string) => received.filter((r) => r.data.activationId === activationId);
const until = <T>(what: string, check: () => T | undefined): Promise<T> =>
  waitFor(() => Promise.resolve(check()), { timeoutMs: 20000, what });
const inHours = (h: number): string => new Date(Date.now() + h * 3600_000).toISOString();

it('declares, lists, reads and ends an activation, and tells the tenant’s desks once each', async () => {
  const endsAt = inHours(72);
  const created = await declare(lead, {
    kind: 'weather',
    title: 'Nor’easter',
    locations: ['loc-0001', 'loc-0002'],
    message: 'Downtown and Dorchester are closed until Saturday; visits become video visits.',
    endsAt,
  });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect(id).toMatch(/^act_/);
  expect(created.headers.get('location')).toBe(`/v1/crisis/activations/${id}`);
  expect(created.body).toMatchObject({
    kind: 'weather',
    locations: ['loc-0001', 'loc-0002'],
    connection: null,
    status: 'active',
    endsAt,
    endedAt: null,
  });

  const read = await http('GET', `${gw.url}/v1/crisis/activations/${id}`, { headers: lead });
  expect(read.body).toEqual(created.body);
  const active = await http('GET', `${gw.url}/v1/crisis/activations?status=active`, { headers: lead });
  expect(active.body.activations.map((a: { id: string }) => a.id)).toContain(id);
  const scheduled = await http('GET', `${gw.url}/v1/crisis/activations?status=scheduled`, { headers: lead });
  expect(scheduled.body.activations.map((a: { id: string }) => a.id)).not.toContain(id);

  const activated = await until('crisis.activated', () =>
    eventsOf(id).find((e) => e.type === 'crisis.activated'),
  );
  expect(activated).toEqual({
    desk: '/default',
    type: 'crisis.activated',
    data: {
      activationId: id,
      kind: 'weather',
      title: 'Nor’easter',
      locations: 'loc-0001,loc-0002',
      connection: null,
      startsAt: created.body.startsAt,
      endsAt,
    },
  });

  const ended = await http('POST', `${gw.url}/v1/crisis/activations/${id}/end`, { headers: lead, body: {} });
  expect(ended.status).toBe(200);
  expect(ended.body).toMatchObject({ id, status: 'ended', endedBy: expect.stringMatching(/^cl_/) });
  expect(Date.parse(ended.body.endedAt as string)).toBeLessThanOrEqual(Date.now());
  const again = await http('POST', `${gw.url}/v1/crisis/activations/${id}/end`, { headers: lead, body: {} });
  expect(again.body.endedAt).toBe(ended.body.endedAt);
  await until('crisis.ended', () => eventsOf(id).find((e) => e.type === 'crisis.ended'));

  // A later activation's event arriving shows the queue has moved past any second `crisis.ended`.
  const later = await declare(lead, { kind: 'other', title: 'Later', message: 'Still here.' });
  await until('the later event', () => eventsOf(later.body.id as string)[0]);
  expect(eventsOf(id).map((e) => `${e.desk} ${e.type}`)).toEqual([
    '/default crisis.activated',
    '/default crisis.ended',
  ]);
});

it('schedules an activation that starts later, announced now with its start', async () => {
  const startsAt = inHours(24);
  const created = await declare(lead, {
    kind: 'closure',
    title: 'Quincy refit',
    message: 'Quincy closes tomorrow.',
    startsAt,
  });
  expect(created.status).toBe(201);
  expect(created.body.status).toBe('scheduled');
  const event = await until('crisis.activated', () => eventsOf(created.body.id as string)[0]);
  expect(event.data.startsAt).toBe(startsAt);
  const notices = await http('GET', `${gw.url}/v1/notices`, { headers: lead });
  expect(notices.body.notices.map((n: { activationId: string }) => n.activationId)).not.toContain(
    created.body.id,
  );
  // Called off before it starts.
  const off = await http('POST', `${gw.url}/v1/crisis/activations/${created.body.id as string}/end`, {
    headers: lead,
    body: {},
  });
  expect(off.body.status).toBe('ended');
});

it('refuses what it cannot declare, naming the field, and checks locations with the EHR', async () => {
  const base = { kind: 'weather', title: 'Storm', message: 'Closed.' };
  const cases: [Record<string, unknown>, string][] = [
    [{ ...base, kind: 'flood' }, 'kind'],
    [{ ...base, startsAt: inHours(5), endsAt: inHours(2) }, 'endsAt'],
    [{ ...base, endsAt: inHours(-1) }, 'endsAt'],
    [{ ...base, locations: ['loc-9999'] }, 'locations[0]'],
    [{ ...base, locations: ['../x'] }, 'locations[0]'],
    [{ ...base, connection: 'other' }, 'connection'],
    [{ ...base, mood: 'grim' }, 'mood'],
    [{ kind: 'weather', message: 'Closed.' }, 'title'],
  ];
  for (const [body, field] of cases) {
    const res = await declare(lead, body);
    expect({ field, status: res.status }).toEqual({ field, status: 400 });
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  }
  const form = await http('POST', `${gw.url}/v1/crisis/activations`, {
    raw: 'kind=outage&title=Phones&message=Use+the+main+line&locations=loc-0003%2Cloc-0004',
    headers: { ...lead, 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(form.status).toBe(201);
  expect(form.body.locations).toEqual(['loc-0003', 'loc-0004']);

  // The EHR down cannot say whether a location exists: the declaration goes through.
  await setFaults(gw.url, { mode: 'down' });
  const blind = await declare(lead, { ...base, locations: ['loc-9999'] });
  expect(blind.status).toBe(201);
});

it('answers a retried declaration with the first activation', async () => {
  const body = { kind: 'outage', title: 'EHR down', message: 'Records are slow today.' };
  const first = await declare(lead, body, { 'idempotency-key': 'declare-1' });
  const second = await declare(lead, body, { 'idempotency-key': 'declare-1' });
  expect([first.status, second.status]).toEqual([201, 200]);
  expect(second.body.id).toBe(first.body.id);

  // The same key for another declaration is a caller's mistake, not a retry: refused, nothing stored.
  const before = (await http('GET', `${gw.url}/v1/crisis/activations`, { headers: lead })).body;
  const other = await declare(
    lead,
    { ...body, message: 'Records are down all day.' },
    { 'idempotency-key': 'declare-1' },
  );
  expect(other.status).toBe(422);
  expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_MISMATCH' });
  const after = (await http('GET', `${gw.url}/v1/crisis/activations`, { headers: lead })).body;
  expect(after).toEqual(before);
});

it('keeps each tenant to its own activations, events and notices', async () => {
  const mine = await declare(lead, { kind: 'pandemic', title: 'Flu surge', message: 'Expect long waits.' });
  const theirs = await declare(southLead, { kind: 'weather', title: 'Ice', message: 'South sites closed.' });
  expect([mine.status, theirs.status]).toEqual([201, 201]);
  const mineId = mine.body.id as string;
  const theirsId = theirs.body.id as string;

  expect(
    (await http('GET', `${gw.url}/v1/crisis/activations/${mineId}`, { headers: southLead })).status,
  ).toBe(404);
  const endOther = await http('POST', `${gw.url}/v1/crisis/activations/${mineId}/end`, {
    headers: southLead,
    body: {},
  });
  expect(endOther.status).toBe(404);
  expect(
    (await http('GET', `${gw.url}/v1/crisis/activations/${mineId}`, { headers: lead })).body.status,
  ).toBe('active');
  const southList = await http('GET', `${gw.url}/v1/crisis/activations`, { headers: southLead });
  expect(southList.body.activations.map((a: { id: string }) => a.id)).toEqual([theirsId]);
  const southNotices = await http('GET', `${gw.url}/v1/notices`, { headers: southLead });
  expect(southNotices.body.notices.map((n: { activationId: string }) => n.activationId)).toEqual([theirsId]);
  // Naming a connection of another tenant is answered like one that does not exist.
  expect((await http('GET', `${gw.url}/v1/notices?connection=sandbox`, { headers: southLead })).status).toBe(
    404,
  );

  const heard = await until('both activations heard', () => {
    const a = eventsOf(mineId);
    const b = eventsOf(theirsId);
    return a.length > 0 && b.length > 0 ? [...a, ...b] : undefined;
  });
  expect(heard.map((e) => `${e.desk} ${String(e.data.activationId)}`).sort()).toEqual(
    [`/default ${mineId}`, `/south ${theirsId}`].sort(),
  );
});

it('reads notices out by location, flat for IVRs, the same with the EHR down', async () => {
  const everywhere = await declare(northLead, {
    kind: 'weather',
    title: 'Snow',
    message: 'All sites open at 10:00.',
  });
  const dorchester = await declare(northLead, {
    kind: 'closure',
    title: 'Dorchester closed',
    locations: ['loc-0002'],
    message: 'Dorchester is closed today; your visit becomes a video visit.',
  });
  const otherConnection = await declare(northLead, {
    kind: 'outage',
    title: 'Sandbox only',
    connection: 'sandbox',
    message: 'Records may be slow.',
  });
  expect([everywhere.status, dorchester.status, otherConnection.status]).toEqual([201, 201, 201]);

  const at = async (query: string) => {
    const res = await http('GET', `${gw.url}/v1/notices${query}`, { headers: northIvr });
    expect(res.status).toBe(200);
    return res.body;
  };
  const atDorchester = await at('?location=loc-0002');
  expect(atDorchester).toMatchObject({ active: true, count: 3, freshness: { source: 'continuum' } });
  // Latest first.
  expect(atDorchester.notices.map((n: { title: string }) => n.title)).toEqual([
    'Sandbox only',
    'Dorchester closed',
    'Snow',
  ]);
  expect(atDorchester.notices[1]).toEqual({
    id: expect.stringMatching(/^ntc_/),
    activationId: dorchester.body.id,
    kind: 'closure',
    title: 'Dorchester closed',
    message: 'Dorchester is closed today; your visit becomes a video visit.',
    locations: ['loc-0002'],
    startsAt: dorchester.body.startsAt,
    endsAt: null,
  });
  expect((await at('?location=loc-0003')).notices.map((n: { title: string }) => n.title)).toEqual([
    'Sandbox only',
    'Snow',
  ]);

  const flat = await at('?location=loc-0002&shape=flat');
  expect(flat).toMatchObject({
    active: 'true',
    count: '3',
    notices_count: '3',
    notices2_message: 'Dorchester is closed today; your visit becomes a video visit.',
    notices2_locations1: 'loc-0002',
    freshness_source: 'continuum',
  });
  expect(Object.values(flat).every((v) => typeof v === 'string')).toBe(true);

  await setFaults(gw.url, { mode: 'down' });
  const down = await at('?location=loc-0002');
  expect(down.notices).toEqual(atDorchester.notices);

  await http('POST', `${gw.url}/v1/crisis/activations/${dorchester.body.id as string}/end`, {
    headers: northLead,
    body: {},
  });
  expect((await at('?location=loc-0002')).count).toBe(2);
  const noNotice = await http('GET', `${gw.url}/v1/notices?location=loc-0002`, { headers: lead });
  expect(noNotice.body.notices.map((n: { activationId: string }) => n.activationId)).not.toContain(
    everywhere.body.id,
  );
});
