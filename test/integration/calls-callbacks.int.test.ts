/**
 * Logging calls and requesting callbacks, checked in the EHR: an Encounter (class VR, telephone)
 * with its Communication, a Task for the callback; each exactly once, also when the EHR committed
 * a create whose answer was lost.
 */
import { http } from '../support/http';
import { receipt, setFaults, waitForFinal, useSandboxGateway } from '../support/pipeline';
import { waitFor } from '../support/wait-for';

const gw = useSandboxGateway({ failureThreshold: 50 });

const search = async (query: string): Promise<any[]> =>
  (((await http('GET', `${gw().fhirBase}/${query}`)).body.entry ?? []) as { resource: any }[]).map(
    (e) => e.resource,
  );

const OPERATION_SYSTEM = 'urn:continuum:operation';

it('logs a call as a telephone Encounter with its Communication, once per call id', async () => {
  const body = {
    patientId: 'pat-0080',
    startedAt: '2026-11-27T14:00:00Z',
    endedAt: '2026-11-27T14:06:30Z',
    agentName: 'Agent Smith',
    reason: 'appointment',
    disposition: 'appointment-booked',
    notes: 'Caller asked to move her visit; booked for next week.',
  };
  const res = await http('POST', `${gw().url}/v1/calls`, {
    body,
    headers: { prefer: 'wait=10', 'x-contact-id': 'call-abc-1' },
  });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({ kind: 'call.log', status: 'succeeded', patientId: 'pat-0080' });
  const encounterId = (res.body.resourceRef as string).replace('Encounter/', '');

  const encounter = (await http('GET', `${gw().fhirBase}/Encounter/${encounterId}`)).body;
  expect(encounter).toMatchObject({
    status: 'finished',
    class: { code: 'VR' },
    type: [{ coding: [{ system: 'http://snomed.info/sct', code: '185317003' }] }],
    subject: { reference: 'Patient/pat-0080' },
    period: { start: '2026-11-27T14:00:00Z', end: '2026-11-27T14:06:30Z' },
    reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '308335008' }] }],
  });
  expect(encounter.extension[0].valueCoding.code).toBe('appointment-booked');
  const [communication, ...more] = await search(`Communication?encounter=Encounter/${encounterId}`);
  expect(more).toEqual([]);
  expect(communication).toMatchObject({
    status: 'completed',
    medium: [{ coding: [{ code: 'PHONE' }] }],
    subject: { reference: 'Patient/pat-0080' },
    payload: [{ contentString: body.notes }],
  });

  // The platform sends the same call again (its own retry): the same operation, nothing logged twice.
  const again = await http('POST', `${gw().url}/v1/calls`, {
    body,
    headers: { 'x-contact-id': 'call-abc-1' },
  });
  expect(again.body.operationId).toBe(res.body.operationId);
  const token = `${OPERATION_SYSTEM}|${res.body.operationId as string}`;
  expect(await search(`Encounter?identifier=${token}`)).toHaveLength(1);
  expect(await search(`Communication?identifier=${token}`)).toHaveLength(1);
});

it('logs a call from a caller nobody identified', async () => {
  const res = await http('POST', `${gw().url}/v1/calls`, {
    body: { startedAt: '2026-11-27T15:00:00Z', endedAt: '2026-11-27T15:01:00Z', disposition: 'abandoned' },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  expect(res.body.patientId).toBeNull();
  const encounter = (await http('GET', `${gw().fhirBase}/${res.body.resourceRef as string}`)).body;
  expect(encounter.subject).toBeUndefined();
});

it('requests a callback as a Task with the number, the window and the priority', async () => {
  const res = await http('POST', `${gw().url}/v1/callbacks`, {
    body: {
      patientId: 'pat-0081',
      phone: '(617) 555-0142',
      windowStart: '2026-11-28T13:00:00Z',
      windowEnd: '2026-11-28T17:00:00Z',
      priority: 'urgent',
      reason: 'Lab results question',
    },
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  const task = (await http('GET', `${gw().fhirBase}/${res.body.resourceRef as string}`)).body;
  expect(task).toMatchObject({
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    priority: 'urgent',
    for: { reference: 'Patient/pat-0081' },
    restriction: { period: { start: '2026-11-28T13:00:00Z', end: '2026-11-28T17:00:00Z' } },
    input: [{ valueString: '+16175550142' }],
  });
});

it('refuses what it cannot log, naming the field', async () => {
  const badPhone = await http('POST', `${gw().url}/v1/callbacks`, { body: { phone: '555-12' } });
  expect(badPhone.status).toBe(400);
  expect(badPhone.body.errors).toEqual([expect.objectContaining({ field: 'phone' })]);
  const backwards = await http('POST', `${gw().url}/v1/calls`, {
    body: { startedAt: '2026-11-27T15:00:00Z', endedAt: '2026-11-27T14:00:00Z' },
  });
  expect(backwards.status).toBe(400);
  expect(backwards.body.errors).toEqual([expect.objectContaining({ field: 'endedAt' })]);
  const unknownCall = await http('POST', `${gw().url}/v1/calls`, {
    body: { startedAt: '2026-11-27T15:00:00Z', mood: 'calm' },
  });
  expect(unknownCall.status).toBe(400);
  expect(unknownCall.body.errors).toEqual([{ field: 'mood', message: 'is not a field of a call log' }]);
  const unknownCallback = await http('POST', `${gw().url}/v1/callbacks`, {
    body: { phone: '617-555-0123', mood: 'calm' },
  });
  expect(unknownCallback.status).toBe(400);
  expect(unknownCallback.body.errors).toEqual([
    { field: 'mood', message: 'is not a field of a callback request' },
  ]);
  const form = await http('POST', `${gw().url}/v1/calls`, {
    raw: 'startedAt=2026-11-27T15%3A00%3A00Z&direction=outbound&disposition=voicemail',
    headers: { 'content-type': 'application/x-www-form-urlencoded', prefer: 'wait=10' },
  });
  expect(form.status).toBe(201);
});

it('logs a call once when the EHR committed the Encounter but its answer was lost', async () => {
  await setFaults(gw().url, {
    mode: 'flaky',
    failureRate: 1,
    afterCommitRate: 1,
    paths: ['Encounter'],
    seed: 5,
  });
  const res = await http('POST', `${gw().url}/v1/calls`, {
    body: { patientId: 'pat-0082', startedAt: '2026-11-27T16:00:00Z', endedAt: '2026-11-27T16:02:00Z' },
  });
  expect(res.status).toBe(202);
  const operationId = res.body.operationId as string;
  await waitFor(async () => ((await receipt(gw().url, operationId)).lastError !== null ? true : undefined), {
    timeoutMs: 20000,
    what: 'a failed first attempt',
  });
  await setFaults(gw().url, { mode: 'up' });
  const [final] = await waitForFinal(gw().url, [operationId]);
  expect(final.status).toBe('succeeded');
  expect(await search(`Encounter?identifier=${OPERATION_SYSTEM}|${operationId}`)).toHaveLength(1);
  expect(await search(`Communication?identifier=${OPERATION_SYSTEM}|${operationId}`)).toHaveLength(1);
});
