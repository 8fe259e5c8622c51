/**
 * A cancellation reason must be one the EHR's mapping profile codes. A desk sending free text hears
 * at once which reasons there are (422 VALIDATION, `acceptedReasons`), and nothing is queued or
 * changed in the EHR; a call-center value and one of the EHR's own codes are both taken, coded as
 * the table says, in any case. A site closure's `reason` is free text (what patients are told); its
 * visits carry its coded `cancellationReason`, refused the same way when the table lacks it, else the
 * table's code for its words, else the table's `other` code with the words as text.
 */
import { finished, waitForClosure } from '../support/site-closure';
import { http } from '../support/http';
import { useSandboxGateway } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';

// Slot searches of a loaded machine can pass the 2.5 s read deadline: this file is about reasons.
const gw = useSandboxGateway({ readDeadlineMs: 15000 });
const REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/appointment-cancellation-reason';

let desk: Record<string, string>;
let supervisor: Record<string, string>;
let lead: Record<string, string>;
beforeAll(async () => {
  desk = await scopedClient(gw().prefix, 'desk', ['appointments:write', 'appointments:read']);
  supervisor = await scopedClient(gw().prefix, 'supervisor', ['operations:read']);
  lead = await scopedClient(gw().prefix, 'crisis-lead', ['crisis:admin']);
});

let dayOffset = 11;
async function bookedVisit(patientId: string): Promise<string> {
  const from = new Date(Date.now() + dayOffset++ * 86_400_000).toISOString().slice(0, 10);
  const slots = await http('GET', `${gw().url}/v1/slots?from=${from}&limit=1`, { headers: desk });
  expect(slots.status).toBe(200);
  const slot = (slots.body.slots as { id: string }[])[0];
  if (slot === undefined) throw new Error('no free slot');
  const res = await http('POST', `${gw().url}/v1/appointments`, {
    body: { patientId, slotId: slot.id },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 201, detail: undefined });
  return (res.body.resourceRef as string).replace('Appointment/', '');
}

const ehr = async (path: string): Promise<any> => (await http('GET', `${gw().fhirBase}/${path}`)).body;

/** Every operation the gateway holds for the patient, whatever its status, as the supervisor sees them. */
async function operationsOf(patientId: string): Promise<{ kind: string; status: string }[]> {
  const statuses = ['queued', 'sending', 'succeeded', 'failed', 'needs-review', 'cancelled'];
  const lists = await Promise.all(
    statuses.map(async (status) => {
      const res = await http('GET', `${gw().url}/v1/operations?status=${status}&patient=${patientId}`, {
        headers: supervisor,
      });
      expect(res.status).toBe(200);
      return res.body.operations as { kind: string; status: string }[];
    }),
  );
  return lists.flat();
}

function expectRefusedWithTheTable(
  res: { status: number; headers: Headers; body: any },
  field = 'reason',
): void {
  expect(res.status).toBe(422);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ code: 'VALIDATION', status: 422, retryable: false });
  const accepted = res.body.acceptedReasons as string[];
  expect(accepted).toEqual(expect.arrayContaining(['patient-request', 'weather', 'other']));
  expect(accepted).toEqual([...new Set(accepted)].sort());
  // The EHR's codes are taken, but the list names the call-center values a desk should send.
  expect(accepted).not.toContain('pat');
  expect(res.body.detail).toMatch(
    new RegExp(`^${field}: is not a cancellation reason of mapping profile default; accepted: `),
  );
  for (const reason of accepted) expect(res.body.detail).toContain(reason);
  expect(res.body.errors).toEqual([{ field, message: expect.any(String) }]);
}

it('refuses a free-text reason with the accepted ones, and queues and changes nothing', async () => {
  const patientId = 'pat-0091';
  const id = await bookedVisit(patientId);
  const before = await ehr(`Appointment/${id}`);
  const operationsBefore = await operationsOf(patientId);

  const res = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    body: { reason: 'because he said so' },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expectRefusedWithTheTable(res);
  // What was sent is not echoed: free text may carry anything.
  expect(JSON.stringify(res.body)).not.toContain('because he said so');

  // The same from an IVR's form, and for a hold and a conversion.
  const form = await http('POST', `${gw().url}/v1/appointments/${id}/cancel`, {
    raw: 'reason=because+he+said+so',
    headers: { ...desk, 'content-type': 'application/x-www-form-urlencoded' },
  });
  expectRefusedWithTheTable(form);
  const hold = await http('POST', `${gw().url}/v1/appointments/${id}/hold`, {
    body: { reason: 'roof leak' },
    headers: desk,
  });
  expectRefusedWithTheTable(hold);
  const convert = await http('POST', `${gw().url}/v1/appointments/${id}/convert`, {
    body: { mode: 'video', reason: 'roof leak' },
    headers: desk,
  });
  expectRefusedWithTheTable(convert);

  expect(await operationsOf(patientId)).toEqual(operationsBefore);
  const after = await ehr(`Appointment/${id}`);
  expect(after.status).toBe('booked');
  expect(after.meta.versionId).toBe(before.meta.versionId);
  expect(after.cancelationReason).toBeUndefined();
});

it("takes a call-center value and the EHR's own code, each coded as the table says", async () => {
  const patientId = 'pat-0092';
  const byValue = await bookedVisit(patientId);
  const byCode = await bookedVisit(patientId);

  const weather = await http('POST', `${gw().url}/v1/appointments/${byValue}/cancel`, {
    body: { reason: 'weather' },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(weather.status).toBe(200);
  expect(weather.body.status).toBe('succeeded');
  expect((await ehr(`Appointment/${byValue}`)).cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'oth-weath' }],
    text: 'weather',
  });

  const pat = await http('POST', `${gw().url}/v1/appointments/${byCode}/cancel`, {
    body: { reason: 'pat' },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(pat.status).toBe(200);
  expect(pat.body.status).toBe('succeeded');
  const cancelled = await ehr(`Appointment/${byCode}`);
  expect(cancelled.status).toBe('cancelled');
  expect(cancelled.cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'pat' }],
    text: 'patient-request',
  });
  // Any case: recorded in the table's spelling.
  const upper = await bookedVisit(patientId);
  const shouted = await http('POST', `${gw().url}/v1/appointments/${upper}/cancel`, {
    body: { reason: 'WEATHER' },
    headers: { ...desk, prefer: 'wait=10' },
  });
  expect(shouted.status).toBe(200);
  expect((await ehr(`Appointment/${upper}`)).cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'oth-weath' }],
    text: 'weather',
  });
  // The desk reads back the call-center value, whichever form it sent.
  const visits = await http('GET', `${gw().url}/v1/patients/${patientId}/appointments?status=cancelled`, {
    headers: desk,
  });
  const read = (visits.body.appointments as { id: string; cancellationReason?: string }[]).find(
    (a) => a.id === byCode,
  );
  expect(read?.cancellationReason).toBe('patient-request');
});

/** A closure of exactly the visit's place and time. */
async function closureOf(appointmentId: string, extra: Record<string, unknown>) {
  const visit = await ehr(`Appointment/${appointmentId}`);
  const location = (visit.participant as { actor?: { reference?: string } }[])
    .map((p) => p.actor?.reference ?? '')
    .find((ref) => ref.startsWith('Location/'));
  return {
    locations: [location!.replace('Location/', '')],
    from: visit.start,
    to: visit.end,
    action: 'cancel',
    reason: 'Storm: the clinic is closed',
    callback: { priority: 'urgent' },
    ...extra,
  };
}

async function closedVisit(body: Record<string, unknown>): Promise<void> {
  const res = await http('POST', `${gw().url}/v1/crisis/closures`, { body, headers: lead });
  expect(res.status).toBe(202);
  const progress = await waitForClosure(gw().url, res.body.id as string, lead, finished);
  // The seed may hold another visit at that place and hour: every one found is changed, none fails.
  const { total, done, failed } = progress.appointments as { total: number; done: number; failed: number };
  expect(total).toBeGreaterThanOrEqual(1);
  expect({ done, failed }).toEqual({ done: total, failed: 0 });
}

it("takes a closure's free-text reason for its patients, and codes its visits from the table, never a made-up code", async () => {
  // Booked first: a closed site takes no booking in its window.
  const storm = await bookedVisit('pat-0093');
  const snow = await bookedVisit('pat-0094');
  const flood = await bookedVisit('pat-0095');
  // Free text: the visit gets the table's other code with the words.
  await closedVisit(await closureOf(storm, {}));
  expect((await ehr(`Appointment/${storm}`)).cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'other' }],
    text: 'Storm: the clinic is closed',
  });

  // Words that are a table value (any case) get its code; a coded reason wins over the words.
  await closedVisit(await closureOf(snow, { reason: 'Weather' }));
  expect((await ehr(`Appointment/${snow}`)).cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'oth-weath' }],
    text: 'weather',
  });
  await closedVisit(await closureOf(flood, { cancellationReason: 'WEATHER' }));
  expect((await ehr(`Appointment/${flood}`)).cancelationReason).toEqual({
    coding: [{ system: REASON_SYSTEM, code: 'oth-weath' }],
    text: 'weather',
  });
});

it('refuses a site closure whose coded reason the table lacks, dry run or not, and starts nothing', async () => {
  const at = new Date(Date.now() + 3 * 3_600_000);
  at.setUTCMinutes(0, 0, 0);
  const closure = (extra: Record<string, unknown>) => ({
    locations: ['loc-0003'],
    from: at.toISOString(),
    to: new Date(at.getTime() + 24 * 3_600_000).toISOString(),
    action: 'cancel',
    reason: 'Storm: the clinic is closed',
    cancellationReason: 'roof leak',
    callback: { priority: 'urgent' },
    ...extra,
  });
  const before = await http('GET', `${gw().url}/v1/crisis/closures`, { headers: lead });
  const dry = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure({ dryRun: true }),
    headers: lead,
  });
  expectRefusedWithTheTable(dry, 'cancellationReason');
  expect(JSON.stringify(dry.body)).not.toContain('roof leak');
  const real = await http('POST', `${gw().url}/v1/crisis/closures`, { body: closure({}), headers: lead });
  expectRefusedWithTheTable(real, 'cancellationReason');
  const list = await http('GET', `${gw().url}/v1/crisis/closures`, { headers: lead });
  expect(list.body.count).toBe(before.body.count);

  // Free text alone goes through (a dry run: the closing itself is the site-closure tests' subject).
  const ok = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: closure({ dryRun: true, cancellationReason: undefined }),
    headers: lead,
  });
  expect(ok.status).toBe(200);
  expect(ok.body.dryRun).toBe(true);
});

it('answers a closure sent again with its Idempotency-Key with the first one, before checking its reason', async () => {
  const at = new Date(Date.now() + 40 * 86_400_000);
  at.setUTCHours(3, 0, 0, 0);
  const body = {
    locations: ['loc-0004'],
    from: at.toISOString(),
    to: new Date(at.getTime() + 3_600_000).toISOString(),
    action: 'hold-for-reschedule',
    reason: 'Boiler failure',
    cancellationReason: 'weather',
    callback: { priority: 'urgent' },
  };
  const key = { ...lead, 'idempotency-key': 'closure-before-reasons' };
  const first = await http('POST', `${gw().url}/v1/crisis/closures`, { body, headers: key });
  expect(first.status).toBe(202);
  // Sent again with a reason the table (since) lacks: the first closure, not a refusal.
  const again = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: { ...body, cancellationReason: 'boiler' },
    headers: key,
  });
  expect(again.status).toBe(200);
  expect(again.body.id).toBe(first.body.id);
  // Without the key, the same reason is refused.
  const fresh = await http('POST', `${gw().url}/v1/crisis/closures`, {
    body: { ...body, cancellationReason: 'boiler' },
    headers: lead,
  });
  expectRefusedWithTheTable(fresh, 'cancellationReason');
});
