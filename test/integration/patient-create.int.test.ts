/**
 * Registering a caller: a Patient created once in the EHR, even when the EHR commits the create
 * and the answer is lost, or the EHR is down when the agent takes the registration.
 */
import { http } from '../support/http';
import { setFaults, waitForFinal } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(60000);

let gw: TestGateway;
beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      connections: { sandbox: { breaker: { failureThreshold: 3, probeIntervalMs: 300 } } },
    },
  });
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

const newPatient = (family: string, phone: string) => ({
  name: { given: ['Ada', 'Marie'], family },
  birthDate: '1987-06-05',
  gender: 'female',
  mrn: `MRN-${family}`,
  phones: [phone],
  email: `${family.toLowerCase()}@example.org`,
  address: { line: ['12 Harbor St'], city: 'Salem', state: 'MA', postalCode: '01970' },
  preferredLanguage: 'es',
});

async function patientsCreatedBy(operationId: string): Promise<any[]> {
  const bundle = await http(
    'GET',
    `${gw.fhirBase}/Patient?identifier=${encodeURIComponent(`urn:continuum:operation|${operationId}`)}`,
  );
  return ((bundle.body.entry ?? []) as { resource: any }[]).map((e) => e.resource);
}

it('creates the patient and answers 201 with the final receipt when the EHR is quick', async () => {
  const res = await http('POST', `${gw.url}/v1/patients`, {
    body: newPatient('Lovelace', '(978) 555-0111'),
    headers: { prefer: 'wait=10' },
  });
  expect(res.status).toBe(201);
  expect(res.body).toMatchObject({
    kind: 'patient.create',
    status: 'succeeded',
    resourceRef: expect.stringMatching(/^Patient\//),
  });
  const created = await patientsCreatedBy(res.body.operationId as string);
  expect(created).toHaveLength(1);
  expect(`Patient/${created[0].id as string}`).toBe(res.body.resourceRef);
  expect(res.body.patientId).toBe(created[0].id);

  const model = (await http('GET', `${gw.url}/v1/patients/${created[0].id as string}`)).body;
  expect(model).toMatchObject({
    mrn: 'MRN-Lovelace',
    name: { given: ['Ada', 'Marie'], family: 'Lovelace' },
    birthDate: '1987-06-05',
    gender: 'female',
    phones: ['+19785550111'],
    email: 'lovelace@example.org',
    preferredLanguage: 'es',
  });
  const lookup = await http('GET', `${gw.url}/v1/patients/lookup?phone=9785550111`);
  expect(lookup.body.matches.map((m: { id: string }) => m.id)).toContain(created[0].id);
});

it('creates the patient once when the EHR commits the create but the answer is lost', async () => {
  // Every Patient request fails for a moment, writes after committing: the first create is stored
  // by the EHR and its answer lost; the retry must find it instead of creating a second one.
  await setFaults(gw.url, {
    mode: 'flaky',
    failureRate: 1,
    afterCommitRate: 1,
    paths: ['Patient'],
    durationMs: 1500,
    seed: 3,
  });
  const res = await http('POST', `${gw.url}/v1/patients`, { body: newPatient('Hopper', '978-555-0112') });
  expect(res.status).toBe(202);
  const [receipt] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(receipt.status).toBe('succeeded');
  expect(receipt.attempts).toBeGreaterThan(1);
  const faults = (await http('GET', `${gw.url}/sandbox/admin/faults`)).body;
  expect(
    (faults.previous?.counters.failedAfterCommit ?? faults.counters.failedAfterCommit) as number,
  ).toBeGreaterThan(0);
  expect(await patientsCreatedBy(res.body.operationId as string)).toHaveLength(1);
  const family = await http('GET', `${gw.fhirBase}/Patient?family=Hopper`);
  expect(family.body.entry).toHaveLength(1);
});

it('takes a registration while the EHR is down and creates it once the EHR is back', async () => {
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const res = await http('POST', `${gw.url}/v1/patients`, { body: newPatient('Noether', '978-555-0113') });
  expect(res.status).toBe(202);
  expect(res.body.status).toBe('queued');
  await setFaults(gw.url, { mode: 'up' });
  const [receipt] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(receipt.status).toBe('succeeded');
  expect(await patientsCreatedBy(res.body.operationId as string)).toHaveLength(1);
});

it('refuses an incomplete or invalid registration, naming each field', async () => {
  const res = await http('POST', `${gw.url}/v1/patients`, {
    body: { name: { given: [], family: '' }, birthDate: '2999-01-01', gender: 'robot', phones: ['12'] },
  });
  expect(res.status).toBe(400);
  const fields = (res.body.errors as { field: string }[]).map((e) => e.field).sort();
  expect(fields).toEqual(expect.arrayContaining(['birthDate', 'gender', 'name.family', 'name.given']));
  const missing = await http('POST', `${gw.url}/v1/patients`, {
    body: { name: { given: ['A'], family: 'B' } },
  });
  expect(missing.status).toBe(400);
  expect((missing.body.errors as { field: string }[]).map((e) => e.field)).toContain('birthDate');
});
