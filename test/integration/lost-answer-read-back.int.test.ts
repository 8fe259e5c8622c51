/**
 * The EHR commits a create and the answer is lost (connection reset after commit). The next attempt
 * must first read back by the operation's business identifier, find what the lost attempt created
 * and stop there: one resource in the EHR, and no second create sent at all. A recording proxy in
 * front of the sandbox shows what each attempt sent.
 */
import { http } from '../support/http';
import { setFaults, waitForFinal } from '../support/pipeline';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

const OPERATION_SYSTEM = 'urn:continuum:operation';

let proxied: ProxiedGateway;
beforeAll(async () => {
  proxied = await startProxiedGateway({
    connection: { breaker: { failureThreshold: 3, probeIntervalMs: 300 } },
  });
});
afterEach(async () => {
  await setFaults(proxied.gw.url, { mode: 'up' });
});
afterAll(async () => {
  await proxied.stop();
});

async function createdBy(resourceType: string, operationId: string): Promise<any[]> {
  const bundle = await http(
    'GET',
    `${proxied.gw.fhirBase}/${resourceType}?identifier=${encodeURIComponent(`${OPERATION_SYSTEM}|${operationId}`)}`,
  );
  return ((bundle.body.entry ?? []) as { resource: any }[]).map((e) => e.resource);
}

/**
 * Every `resourceType` request fails; writes are committed first and their answer lost. Once the
 * EHR has committed one, it is healthy again, so the next attempt decides what happens.
 */
async function loseAnswersUntilOneCommitted(resourceType: string, start: () => Promise<string>) {
  const { url } = proxied.gw;
  await setFaults(url, {
    mode: 'flaky',
    failureRate: 1,
    afterCommitRate: 1,
    paths: [resourceType],
    seed: 11,
  });
  const operationId = await start();
  await waitFor(
    async () => {
      const faults = (await http('GET', `${url}/sandbox/admin/faults`)).body;
      return faults.counters.failedAfterCommit >= 1 ? true : undefined;
    },
    { timeoutMs: 20000, what: `a ${resourceType} committed with its answer lost` },
  );
  await setFaults(url, { mode: 'up' });
  const [receipt] = await waitForFinal(url, [operationId]);
  return receipt;
}

/** The create requests sent, and whether a read-back by identifier followed the first one. */
function createsAndReadBack(resourceType: string, operationId: string) {
  const seen = proxied.proxy.seen;
  const creates = seen.filter((r) => r.method === 'POST' && new RegExp(`/${resourceType}$`).test(r.url));
  const readBack = seen.findIndex(
    (r, i) =>
      i > seen.indexOf(creates[0]!) &&
      r.method === 'GET' &&
      r.url.includes(`/${resourceType}?`) &&
      decodeURIComponent(r.url).includes(`identifier=${OPERATION_SYSTEM}|${operationId}`),
  );
  return { creates: creates.length, readBackAfterFirstCreate: readBack !== -1 };
}

it('books once: the retry finds the Appointment the lost attempt created and sends no second create', async () => {
  const { gw } = proxied;
  const from = new Date(Date.now() + 11 * 86_400_000).toISOString().slice(0, 10);
  const slotId = (await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`)).body.slots[0].id as string;
  proxied.proxy.seen.length = 0;

  const receipt = await loseAnswersUntilOneCommitted('Appointment', async () => {
    const res = await http('POST', `${gw.url}/v1/appointments`, { body: { patientId: 'pat-0095', slotId } });
    expect(res.status).toBe(202);
    return res.body.operationId as string;
  });

  expect(receipt.status).toBe('succeeded');
  expect(receipt.attempts).toBeGreaterThan(1);
  const booked = await createdBy('Appointment', receipt.operationId as string);
  expect(booked).toHaveLength(1);
  expect(receipt.resourceRef).toBe(`Appointment/${booked[0].id as string}`);
  expect((await http('GET', `${gw.fhirBase}/Slot/${slotId}`)).body.status).toBe('busy');
  expect(createsAndReadBack('Appointment', receipt.operationId as string)).toEqual({
    creates: 1,
    readBackAfterFirstCreate: true,
  });
});

it('registers once: the retry finds the Patient the lost attempt created and sends no second create', async () => {
  const { gw } = proxied;
  proxied.proxy.seen.length = 0;

  const receipt = await loseAnswersUntilOneCommitted('Patient', async () => {
    const res = await http('POST', `${gw.url}/v1/patients`, {
      body: {
        name: { given: ['Grace'], family: 'Readback' },
        birthDate: '1986-12-09',
        gender: 'female',
        phones: ['978-555-0131'],
      },
    });
    expect(res.status).toBe(202);
    return res.body.operationId as string;
  });

  expect(receipt.status).toBe('succeeded');
  expect(receipt.attempts).toBeGreaterThan(1);
  const registered = await createdBy('Patient', receipt.operationId as string);
  expect(registered).toHaveLength(1);
  expect(receipt.resourceRef).toBe(`Patient/${registered[0].id as string}`);
  expect(createsAndReadBack('Patient', receipt.operationId as string)).toEqual({
    creates: 1,
    readBackAfterFirstCreate: true,
  });
});
