/**
 * Slot search by service type on an EHR that keeps the service type on the Schedule, not on each
 * Slot (FHIR allows either; a Slot's own overrides its Schedule's). The sandbox seeds it on both,
 * so the test writes such calendars into it: far beyond the seeded weeks, under a service code no
 * seeded calendar has.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';
import { http } from '../support/http';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

const DAY_MS = 86_400_000;
const SYSTEM = 'http://terminology.hl7.org/CodeSystem/service-type';

let gw: TestGateway;
let desk: Record<string, string>;
let mappingsDir: string;
/** A window with no seeded slot in it: whole days 200 to 202 from now. */
const from = new Date((Math.floor(Date.now() / DAY_MS) + 200) * DAY_MS);
const to = new Date(from.getTime() + 2 * DAY_MS);
const at = (hour: number): string => new Date(from.getTime() + hour * 3_600_000).toISOString();

/** The default profile, and copies that name where the EHR keeps the service type. */
async function profiles(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'continuum-profiles-'));
  const source = join(projectRoot(), 'mappings', 'default');
  for (const [name, where] of [
    ['default', 'either'],
    ['on-schedule', 'schedule'],
    ['on-slot', 'slot'],
  ] as const) {
    await cp(source, join(root, name), { recursive: true });
    const file = join(root, name, 'slot.yaml');
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('serviceTypeSearch: either', `serviceTypeSearch: ${where}`),
    );
  }
  return root;
}

beforeAll(async () => {
  mappingsDir = await profiles();
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      mappings: { dir: mappingsDir },
      connections: {
        sandbox: {},
        'on-schedule': { mappingProfile: 'on-schedule' },
        'on-slot': { mappingProfile: 'on-slot' },
      },
    },
  });
  desk = await scopedClient(gw.prefix, 'desk', ['appointments:read']);
});
afterAll(async () => {
  await gw.stop();
  await rm(mappingsDir, { recursive: true, force: true });
});

async function create<T extends { id: string }>(resource: Record<string, unknown>): Promise<T> {
  const answer = await http('POST', `${gw.fhirBase}/${String(resource.resourceType)}`, { body: resource });
  if (answer.status !== 201)
    throw new Error(`sandbox refused ${String(resource.resourceType)}: ${answer.status}`);
  return answer.body as T;
}

const serviceType = (code: string) => [{ coding: [{ system: SYSTEM, code, display: `Service ${code}` }] }];

/** A practitioner's calendar at a seeded location offering `code`, its Slots free and saying nothing of it. */
async function calendar(code: string, hours: readonly number[], slotCode?: string) {
  const location = (await http('GET', `${gw.fhirBase}/Location?_count=1`)).body.entry[0].resource as {
    id: string;
  };
  const practitioner = await create<{ id: string }>({
    resourceType: 'Practitioner',
    name: [{ family: 'Schedule-only', given: ['Test'] }],
  });
  const schedule = await create<{ id: string }>({
    resourceType: 'Schedule',
    active: true,
    serviceType: serviceType(code),
    actor: [{ reference: `Practitioner/${practitioner.id}` }, { reference: `Location/${location.id}` }],
  });
  const slots: string[] = [];
  for (const hour of hours) {
    const slot = await create<{ id: string }>({
      resourceType: 'Slot',
      schedule: { reference: `Schedule/${schedule.id}` },
      status: 'free',
      start: at(hour),
      end: at(hour + 0.5),
      ...(slotCode !== undefined ? { serviceType: serviceType(slotCode) } : {}),
    });
    slots.push(slot.id);
  }
  return { practitioner: practitioner.id, schedule: schedule.id, slots };
}

const slotsOf = (query: string, connection = 'sandbox') =>
  http(
    'GET',
    `${gw.url}/v1/slots?connection=${connection}&from=${from.toISOString()}&to=${to.toISOString()}&limit=50&${query}`,
    { headers: desk },
  );
const ids = (answer: { body: { slots: { id: string }[] } }): string[] =>
  answer.body.slots.map((s) => s.id).sort();

it("finds the free slots of Schedules offering the service type when the Slots carry none, and no other service's", async () => {
  const wanted = `x${randomBytes(4).toString('hex')}`;
  const other = `y${randomBytes(4).toString('hex')}`;
  const offering = await calendar(wanted, [9, 10, 11]);
  const elsewhere = await calendar(other, [9, 10]);

  const answer = await slotsOf(`serviceType=${wanted}`);
  expect(answer.status).toBe(200);
  expect(ids(answer)).toEqual([...offering.slots].sort());
  expect(answer.body.slots[0]).toMatchObject({
    status: 'free',
    scheduleId: offering.schedule,
    serviceType: `Service ${wanted}`,
    practitioner: { id: offering.practitioner },
  });
  for (const id of elsewhere.slots) expect(ids(answer)).not.toContain(id);

  // With the other filters: that practitioner's, and nobody else's.
  expect(ids(await slotsOf(`serviceType=${wanted}&practitioner=${offering.practitioner}`))).toEqual(
    [...offering.slots].sort(),
  );
  expect(ids(await slotsOf(`serviceType=${wanted}&practitioner=${elsewhere.practitioner}`))).toEqual([]);
});

it("takes a Slot's own service type over its Schedule's, either way", async () => {
  const wanted = `x${randomBytes(4).toString('hex')}`;
  const other = `y${randomBytes(4).toString('hex')}`;
  // Offered by the Schedule, but this Slot says it is for another service.
  const overridden = await calendar(wanted, [13], other);
  // The Schedule offers another service, but this Slot says it is for the wanted one.
  const ownWanted = await calendar(other, [14], wanted);
  const plain = await calendar(wanted, [15]);

  const answer = await slotsOf(`serviceType=${wanted}`);
  expect(ids(answer)).toEqual([...ownWanted.slots, ...plain.slots].sort());
  expect(ids(answer)).not.toContain(overridden.slots[0]);
  expect(ids(await slotsOf(`serviceType=${other}`))).toEqual([...overridden.slots].sort());
});

it('searches only where the profile says the EHR keeps the service type', async () => {
  const wanted = `x${randomBytes(4).toString('hex')}`;
  const onSchedule = await calendar(wanted, [16]);
  const onSlot = await calendar(`y${randomBytes(4).toString('hex')}`, [17], wanted);

  expect(ids(await slotsOf(`serviceType=${wanted}`, 'on-schedule'))).toEqual(onSchedule.slots);
  expect(ids(await slotsOf(`serviceType=${wanted}`, 'on-slot'))).toEqual(onSlot.slots);
  expect(ids(await slotsOf(`serviceType=${wanted}`))).toEqual([...onSchedule.slots, ...onSlot.slots].sort());
});
