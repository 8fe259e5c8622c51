/**
 * Reads keep working when the EHR does not: patients read or found while it was up are answered
 * from the continuity cache while it is down, marked as cached; a correction queued meanwhile shows
 * as pending; once the EHR is back it lands, and reads are live again with nothing pending.
 */
import { http } from '../support/http';
import { startTestGateway } from '../support/test-gateway';
import { setFaults, waitForFinal, useSandboxGateway } from '../support/pipeline';
import { waitFor } from '../support/wait-for';

const gw = useSandboxGateway();

/** Two seeded patients with a phone number, straight from the EHR. */
async function patientsWithPhones(): Promise<{ id: string; phone: string }[]> {
  const bundle = await http('GET', `${gw().fhirBase}/Patient?_count=40`);
  const found: { id: string; phone: string }[] = [];
  for (const entry of bundle.body.entry as { resource: any }[]) {
    const view = await http('GET', `${gw().url}/v1/patients/${entry.resource.id}`);
    if (view.body.phones?.length > 0) found.push({ id: view.body.id, phone: view.body.phones[0] });
    if (found.length === 3) break;
  }
  return found;
}

it('answers lookups and patient reads from the cache while the EHR is down, with queued changes pending', async () => {
  const [seen, other, neverLookedUp] = await patientsWithPhones();
  if (!seen || !other || !neverLookedUp) throw new Error('seed has too few patients with phones');

  const live = await http('GET', `${gw().url}/v1/patients/lookup?phone=${encodeURIComponent(seen.phone)}`);
  expect(live.status).toBe(200);
  expect(live.body.freshness.source).toBe('ehr');
  const liveRead = await http('GET', `${gw().url}/v1/patients/${seen.id}`);
  expect(liveRead.body).toMatchObject({ id: seen.id, freshness: { source: 'ehr' }, pending: [] });

  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });

  const cachedLookup = await http(
    'GET',
    `${gw().url}/v1/patients/lookup?phone=${encodeURIComponent(seen.phone)}`,
  );
  expect(cachedLookup.status).toBe(200);
  expect(cachedLookup.body.found).toBe(true);
  expect(cachedLookup.body.freshness.source).toBe('cache');
  expect(cachedLookup.body.matches.map((m: { id: string }) => m.id)).toContain(seen.id);

  const cachedRead = await http('GET', `${gw().url}/v1/patients/${seen.id}`);
  expect(cachedRead.status).toBe(200);
  expect(cachedRead.body.freshness.source).toBe('cache');
  expect(cachedRead.body.freshness.asOf).toBe(liveRead.body.freshness.asOf);
  expect(cachedRead.body.name).toEqual(liveRead.body.name);

  // A correction taken during the outage is queued and already shows, marked pending.
  const newPhone = '+16175550199';
  const queued = await http('PATCH', `${gw().url}/v1/patients/${seen.id}`, { body: { phones: [newPhone] } });
  expect(queued.status).toBe(202);
  const withPending = await http('GET', `${gw().url}/v1/patients/${seen.id}`);
  expect(withPending.body.phones).toEqual([newPhone]);
  expect(withPending.body.pending).toEqual([
    expect.objectContaining({ operationId: queued.body.operationId, fields: ['phones'] }),
  ]);

  // Nobody ever read this patient through the gateway: nothing to fall back on, and it says so.
  const unknown = await http('GET', `${gw().url}/v1/patients/pat-0219`);
  expect(unknown.status).toBe(503);
  expect(unknown.body.code).toBe('EHR_UNAVAILABLE');

  await setFaults(gw().url, { mode: 'up' });
  const [receipt] = await waitForFinal(gw().url, [queued.body.operationId as string]);
  expect(receipt.status).toBe('succeeded');

  // Live again: the EHR holds the change, and nothing is pending. The breaker may need a probe first.
  const after = await waitFor(
    async () => {
      const res = await http('GET', `${gw().url}/v1/patients/${seen.id}`);
      return res.body.freshness?.source === 'ehr' ? res : undefined;
    },
    { timeoutMs: 20000, what: 'a live read after recovery' },
  );
  expect(after.body.phones).toEqual([newPhone]);
  expect(after.body.pending).toEqual([]);
  const ehr = await http('GET', `${gw().fhirBase}/Patient/${seen.id}`);
  const ehrPhones = (ehr.body.telecom as { system: string; value: string }[])
    .filter((t) => t.system === 'phone')
    .map((t) => t.value);
  expect(ehrPhones).toEqual([newPhone]);
});

it('answers 503, never "not found", for a number it knows nothing of while the EHR is down or behind an open breaker', async () => {
  // Outside the seed's area codes: no patient has it, as the live answer confirms.
  const unknown = '+19075550142';
  const lookup = () => http('GET', `${gw().url}/v1/patients/lookup?phone=${encodeURIComponent(unknown)}`);
  const live = await lookup();
  expect(live.body).toMatchObject({ found: false, freshness: { source: 'ehr' } });

  await setFaults(gw().url, { mode: 'down', kind: 'refuse' });
  const down = await lookup();
  expect({ status: down.status, code: down.body.code, found: down.body.found }).toEqual({
    status: 503,
    code: 'EHR_UNAVAILABLE',
    found: undefined,
  });
  expect(down.headers.get('content-type')).toContain('application/problem+json');

  // Failed lookups open the breaker; then the EHR is not even asked, and the answer is the same.
  await waitFor(
    async () => {
      await lookup();
      const status = (await http('GET', `${gw().url}/v1/status`)).body.connections.sandbox;
      return status.breaker.state === 'open' ? true : undefined;
    },
    { what: 'the breaker to open' },
  );
  const behindBreaker = await lookup();
  expect({ status: behindBreaker.status, code: behindBreaker.body.code }).toEqual({
    status: 503,
    code: 'EHR_UNAVAILABLE',
  });

  // The next tests expect a closed breaker: the EHR back, a probe and a live answer close it.
  await setFaults(gw().url, { mode: 'up' });
  await waitFor(async () => ((await lookup()).body.freshness?.source === 'ehr' ? true : undefined), {
    timeoutMs: 20000,
    what: 'live lookups again',
  });
});

it('keeps the agent waiting no longer than the read deadline when the EHR hangs', async () => {
  const [seen] = await patientsWithPhones();
  if (!seen) throw new Error('seed has no patient with a phone');
  await setFaults(gw().url, { mode: 'slow', latencyMs: 4000 });
  const res = await http('GET', `${gw().url}/v1/patients/${seen.id}`);
  expect(res.status).toBe(200);
  expect(res.body.freshness.source).toBe('cache');
});

it('gives each kind of read its own deadline when configured', async () => {
  const own = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 220 },
      // Patient reads give up after 400 ms; lookups keep the default 2.5 s. A cached read would not
      // wait for its deadline at all (staleAfterMs): set past it, so the deadline is what answers.
      connections: { sandbox: { readDeadlines: { patient: 400 }, staleAfterMs: 5000 } },
    },
  });
  try {
    const live = await http('GET', `${own.url}/v1/patients/pat-0005`);
    const phone = live.body.phones[0] as string;
    await setFaults(own.url, { mode: 'slow', latencyMs: 1200 });
    const read = await http('GET', `${own.url}/v1/patients/pat-0005`);
    expect(read.body.freshness.source).toBe('cache');
    const lookup = await http('GET', `${own.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`);
    expect(lookup.body.freshness.source).toBe('ehr');
  } finally {
    await setFaults(own.url, { mode: 'up' });
    await own.stop();
  }
});
