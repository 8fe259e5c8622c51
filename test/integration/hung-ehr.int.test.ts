/**
 * An EHR that accepts connections and never answers must not hold the call flow: a write is
 * accepted (unconfirmed) while its patient check is still waiting on the EHR, a cached read is
 * answered from the cache while the EHR read is still waiting, and the circuit breaker opens while
 * the calls to the hung EHR are still in flight rather than once each has run out its deadline.
 * A proxy in front of the sandbox stands in for the hung EHR: it takes every request and holds it.
 * Every assertion is about order (what was answered while what was still waiting), never time.
 * And what must not happen: an EHR that is merely busy (answers in 1 s) does not open the breaker.
 */
import { http } from '../support/http';
import { receipt, setFaults, waitForFinal } from '../support/pipeline';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';
import { appointmentsHoldingSlot } from '../support/slot-bookings';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let proxied: ProxiedGateway;
beforeEach(async () => {
  proxied = await startProxiedGateway({
    connection: { writeTimeoutMs: 2000, breaker: { failureThreshold: 5, probeIntervalMs: 400 } },
  });
});
afterEach(async () => {
  proxied.proxy.resume();
  await proxied.stop();
});

/** Requests to the hung EHR still waiting for an answer the gateway has not given up on. */
function waitingFor(path: RegExp): string[] {
  return proxied.proxy
    .stillWaiting()
    .map((r) => r.url)
    .filter((url) => path.test(url));
}

async function breakerState(): Promise<string> {
  return (await http('GET', `${proxied.gw.url}/v1/status`)).body.connections.ehr.breaker.state as string;
}

it('accepts a write, unconfirmed, while its patient check still waits on a hung EHR; applies it once the EHR is back', async () => {
  const { gw, proxy } = proxied;
  proxy.hang();
  const res = await http('PATCH', `${gw.url}/v1/patients/pat-0031`, {
    body: { email: 'hung-ehr@example.org' },
  });
  // Answered before the gateway gave up on its check: the check did not hold the answer.
  const checksWaiting = waitingFor(/\/Patient\/pat-0031(\?|$)/);
  expect(res.status).toBe(202);
  expect(checksWaiting.length).toBeGreaterThanOrEqual(1);
  const operationId = res.body.operationId as string;
  const taken = await receipt(gw.url, operationId);
  expect(taken.status).not.toBe('failed');
  // The receipt says, without any patient detail, that the patient was not confirmed yet.
  expect(taken.history[0].note).toMatch(/not yet confirmed/);
  expect(JSON.stringify(taken.history)).not.toContain('hung-ehr@example.org');

  proxy.resume();
  const [final] = await waitForFinal(gw.url, [operationId]);
  expect(final.status).toBe('succeeded');
  const stored = await http('GET', `${gw.fhirBase}/Patient/pat-0031`);
  expect(JSON.stringify(stored.body.telecom)).toContain('hung-ehr@example.org');
});

it('takes a booking, slot not yet confirmed, while its slot check still waits on a hung EHR; books it once the EHR is back', async () => {
  const { gw, proxy } = proxied;
  const from = new Date(Date.now() + 9 * 86_400_000).toISOString().slice(0, 10);
  const slotId = (await http('GET', `${gw.url}/v1/slots?from=${from}&limit=1`)).body.slots[0].id as string;
  proxy.hang();
  const res = await http('POST', `${gw.url}/v1/appointments`, {
    body: { patientId: 'pat-0035', slotId },
  });
  const checksWaiting = waitingFor(new RegExp(`/Slot/${slotId}(\\?|$)`));
  expect(res.status).toBe(202);
  expect(checksWaiting).toHaveLength(1);
  const taken = await receipt(gw.url, res.body.operationId as string);
  expect(taken.history[0].note).toMatch(/slot is not yet confirmed/);

  proxy.resume();
  const [final] = await waitForFinal(gw.url, [res.body.operationId as string]);
  expect(final.status).toBe('succeeded');
  // Booked once: a slot freed by a cancellation still lists the cancelled visit, which is not a booking.
  const booked = await appointmentsHoldingSlot(gw.fhirBase, slotId);
  expect(booked).toHaveLength(1);
  expect(JSON.stringify(booked[0]?.participant)).toContain('Patient/pat-0035');
});

it('answers a cached read from the cache while the read sent to a hung EHR is still waiting', async () => {
  const { gw, proxy } = proxied;
  const live = await http('GET', `${gw.url}/v1/patients/pat-0032`);
  expect(live.status).toBe(200);
  expect(live.body.freshness.source).toBe('ehr');

  proxy.hang();
  const cached = await http('GET', `${gw.url}/v1/patients/pat-0032`);
  const readsWaiting = waitingFor(/\/Patient\/pat-0032(\?|$)/);
  expect(cached.status).toBe(200);
  expect(cached.body.freshness).toEqual({ source: 'cache', asOf: live.body.freshness.asOf });
  expect(cached.body.name).toEqual(live.body.name);
  expect(readsWaiting).toHaveLength(1);

  // More reads of the same patient meanwhile join that one refresh: no second request is sent.
  const again = await http('GET', `${gw.url}/v1/patients/pat-0032`);
  expect(again.body.freshness.source).toBe('cache');
  expect(proxied.sent('GET', /\/Patient\/pat-0032(\?|$)/)).toHaveLength(2);
});

it('answers a screen pop for a known number from the index and cache while the read sent to a hung EHR is still waiting', async () => {
  const { gw, proxy } = proxied;
  const live = await http('GET', `${gw.url}/v1/patients/pat-0034`);
  const phone = live.body.phones[0] as string;
  const url = `${gw.url}/v1/patients/lookup?phone=${encodeURIComponent(phone)}`;
  expect((await http('GET', url)).body.freshness.source).toBe('ehr');

  proxy.hang();
  const cached = await http('GET', url);
  // The index knows the number: the lookup reads the patient by id, and that read is what hangs.
  const readsWaiting = waitingFor(/\/Patient\/pat-0034(\?|$)/);
  expect(cached.status).toBe(200);
  expect(cached.body.found).toBe(true);
  expect(cached.body.freshness.source).toBe('cache');
  expect(cached.body.matches.map((m: { id: string }) => m.id)).toContain('pat-0034');
  expect(readsWaiting).toHaveLength(1);
});

it('opens the breaker while the calls to a hung EHR are still in flight, not once they expire', async () => {
  const { gw, proxy } = proxied;
  proxy.hang();
  const ids = ['pat-0041', 'pat-0042', 'pat-0043', 'pat-0044', 'pat-0045'];
  // Never cached, so each waits for the EHR; their answers do not matter here, only when the breaker opens.
  const reads = ids.map((id) => http('GET', `${gw.url}/v1/patients/${id}`).catch(() => undefined));
  const waitingAtOpen = await waitFor(
    async () => ((await breakerState()) === 'open' ? waitingFor(/\/Patient\/pat-004/) : undefined),
    { what: 'the breaker to open', intervalMs: 20 },
  );
  expect(waitingAtOpen.length).toBeGreaterThanOrEqual(3);
  await Promise.all(reads);
  // Behind the open breaker, a new read does not reach the hung EHR at all.
  const before = proxied.sent('GET', /\/Patient\//).length;
  const behind = await http('GET', `${gw.url}/v1/patients/pat-0046`);
  expect(behind.status).toBe(503);
  expect(behind.body.code).toBe('EHR_UNAVAILABLE');
  expect(proxied.sent('GET', /\/Patient\//).length).toBe(before);
});

it('keeps the breaker closed for a busy EHR that answers in a second, even when it turns slow under load', async () => {
  const { gw } = proxied;
  // Eight callers at once, each reading three patients never read before: every read waits for the EHR.
  await setFaults(gw.url, { mode: 'slow', latencyMs: 1000 });
  const states = new Set<string>();
  const load = { running: true };
  const watching = (async () => {
    while (load.running) states.add(await breakerState());
  })();
  const answers = await Promise.all(
    Array.from({ length: 8 }, async (_, caller) => {
      const sources: unknown[] = [];
      for (let n = 0; n < 3; n++) {
        const id = `pat-${String(50 + caller * 3 + n).padStart(4, '0')}`;
        const res = await http('GET', `${gw.url}/v1/patients/${id}`);
        sources.push(res.status === 200 ? res.body.freshness.source : res.status);
      }
      return sources;
    }),
  ).finally(() => {
    load.running = false;
  });
  await watching;
  await setFaults(gw.url, { mode: 'up' });
  expect(answers.flat()).toEqual(Array.from({ length: 24 }, () => 'ehr'));
  expect([...states]).toEqual(['closed']);
});
