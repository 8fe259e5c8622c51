/**
 * A correction that follows a screen pop of the same patient is queued without asking the EHR
 * about that patient again; a patient nobody has seen is still checked, and an unknown one is
 * still refused before anything is queued.
 */
import { http } from '../support/http';
import { receipt, setFaults } from '../support/pipeline';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;
let seen: string;
let unseen: string;

beforeAll(async () => {
  // No worker: the writes stay queued, and their receipts show how they were accepted.
  gw = await startTestGateway({ role: 'api' });
  const bundle = await http('GET', `${gw.fhirBase}/Patient?_count=2`);
  seen = bundle.body.entry[0].resource.id as string;
  unseen = bundle.body.entry[1].resource.id as string;
});
afterEach(async () => {
  await setFaults(gw.url, { mode: 'up' });
});
afterAll(async () => {
  await gw.stop();
});

const UNCHECKED = /accepted while the EHR was unavailable/;

it('queues a write for a patient just read without a second EHR check', async () => {
  expect((await http('GET', `${gw.url}/v1/patients/${seen}`)).status).toBe(200);
  // The EHR now fails every request: only a write that skips the check is accepted as checked.
  await setFaults(gw.url, { mode: 'down', kind: 'http503' });

  const forSeen = await http('PATCH', `${gw.url}/v1/patients/${seen}`, { body: { email: 'a@example.org' } });
  const forUnseen = await http('PATCH', `${gw.url}/v1/patients/${unseen}`, {
    body: { email: 'b@example.org' },
  });

  expect(forSeen.status).toBe(202);
  expect(forUnseen.status).toBe(202);
  const seenReceipt = await receipt(gw.url, forSeen.body.operationId);
  const unseenReceipt = await receipt(gw.url, forUnseen.body.operationId);
  expect(seenReceipt.status).toBe('queued');
  expect(seenReceipt.history[0].note ?? '').not.toMatch(UNCHECKED);
  expect(unseenReceipt.status).toBe('queued');
  expect(unseenReceipt.history[0].note).toMatch(UNCHECKED);
});

it('still refuses a write for a patient the EHR does not have, with nothing queued', async () => {
  const res = await http('PATCH', `${gw.url}/v1/patients/no-such-patient`, {
    body: { email: 'c@example.org' },
  });
  expect(res.status).toBe(404);
  const queued = await http('GET', `${gw.url}/v1/operations?status=queued&patient=no-such-patient`);
  expect(queued.body.operations).toEqual([]);
});
