/**
 * Site closures, as a crisis lead and an IVR use them: a dry run counts what the EHR holds and
 * changes nothing; a real run cancels every visit at the location in the window once, arranges one
 * callback per patient, answers a second submission with the first closure, and tells each patient
 * what happened in words; a tenant confined to locations cannot close another's.
 */
import { http } from '../support/http';
import { useSandboxGateway } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { waitFor } from '../support/wait-for';

const gw = useSandboxGateway({ failureThreshold: 50 });

const LOCATION = 'loc-0002';
const hoursFromNow = (hours: number): string => {
  const at = new Date(Date.now() + hours * 3_600_000);
  at.setUTCMinutes(0, 0, 0);
  return at.toISOString();
};

/** What the EHR holds: the visits still to come at the location in the window. */
async function visitsInEhr(from: string, to: string): Promise<any[]> {
  const found: any[] = [];
  let url: string | undefined = `${gw().fhirBase}/Appointment?date=ge${from}&date=lt${to}&_count=100`;
  while (url !== undefined) {
    const page: any = (await http('GET', url)).body;
    found.push(...((page.entry ?? []) as { resource: any }[]).map((e) => e.resource));
    url = (page.link ?? []).find((l: any) => l.relation === 'next')?.url;
  }
  return found.filter(
    (a) =>
      ['booked', 'pending', 'proposed'].includes(a.status) &&
      (a.participant ?? []).some((p: any) => p.actor?.reference === `Location/${LOCATION}`) &&
      Date.parse(a.start) >= Date.parse(from) &&
      Date.parse(a.start) < Date.parse(to),
  );
}

const closure = (from: string, to: string, extra: Record<string, unknown> = {}) => ({
  locations: [LOCATION],
  from,
  to,
  action: 'cancel',
  reason: 'weather',
  callback: { priority: 'urgent', window: { start: hoursFromNow(1), end: hoursFromNow(3) } },
  ...extra,
});

it('counts in a dry run what the EHR holds at the location, and changes nothing', async () => {
  const from = hoursFromNow(1);
  const to = hoursFromNow(49);
  const expected = await visitsInEhr(from, to);
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure(from, to, { dryRun: true }),
  });
  expect(res.status).toBe(200);
  const patients = new Set(
    expected.map(
      (a) => a.participant.find((p: any) => p.actor.reference.startsWith('Patient/')).actor.reference,
    ),
  );
  console.log(
    `dry run: ${res.body.appointments} visits, ${res.body.patients} patients; EHR ${expected.length}`,
  );
  expect(res.body).toMatchObject({
    dryRun: true,
    appointments: expected.length,
    patients: patients.size,
    timeZone: 'UTC',
    byLocation: [{ location: LOCATION, count: expected.length }],
  });
  expect(expected.length).toBeGreaterThan(0);
  expect(new Set(res.body.appointmentRefs)).toEqual(new Set(expected.map((a) => `Appointment/${a.id}`)));
  expect(new Set(res.body.patientRefs)).toEqual(patients);
  const dayTotal = (res.body.byDay as { count: number }[]).reduce((sum, d) => sum + d.count, 0);
  expect(dayTotal).toBe(expected.length);
  // Nothing changed: every visit still booked, nothing queued, no closure stored.
  expect(await visitsInEhr(from, to)).toHaveLength(expected.length);
  const queued = await http('GET', `${gw().url}/v1/operations?status=queued`);
  expect(queued.body.count).toBe(0);
  const list = await http('GET', `${gw().url}/v1/crisis/closures`);
  expect(list.body.count).toBe(0);
});
