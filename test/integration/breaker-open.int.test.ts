/**
 * While an EHR connection's circuit breaker is open, its writes wait without costing anything:
 * no request but the breaker's own probe (`GET /metadata`) reaches the EHR, and no receipt's
 * attempt count moves. A recording proxy in front of the sandbox counts what was sent.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { http } from '../support/http';
import { receipt, setFaults, waitForFinal } from '../support/pipeline';
import { startProxiedGateway, type ProxiedGateway } from '../support/proxied-gateway';
import { TEST_REDIS_URL } from '../support/redis';
import { waitFor } from '../support/wait-for';

jest.setTimeout(90000);

let proxied: ProxiedGateway;
const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
beforeAll(async () => {
  proxied = await startProxiedGateway({
    connection: { breaker: { failureThreshold: 1, probeIntervalMs: 400 } },
  });
});
afterEach(async () => {
  await setFaults(proxied.gw.url, { mode: 'up' });
});
afterAll(async () => {
  await proxied.stop();
  redis.disconnect();
});

/** BullMQ's own count of tries per job: its retry budget, which a wait must not spend. */
async function triesMade(operationIds: readonly string[]): Promise<number[]> {
  const queue = new Queue('writes-ehr', { connection: redis, prefix: `{${proxied.gw.prefix}}` });
  try {
    return await Promise.all(operationIds.map(async (id) => (await queue.getJob(id))?.attemptsMade ?? -1));
  } finally {
    await queue.close();
  }
}

const isProbe = (url: string): boolean => /\/metadata(\?|$)/.test(url);

it('sends nothing but probes to an EHR behind an open breaker and spends no attempt, then drains', async () => {
  const { gw, proxy } = proxied;
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const operationIds: string[] = [];
  for (const [id, email] of [
    ['pat-0096', 'breaker-a@example.org'],
    ['pat-0097', 'breaker-b@example.org'],
  ] as const) {
    const res = await http('PATCH', `${gw.url}/v1/patients/${id}`, { body: { email } });
    expect(res.status).toBe(202);
    operationIds.push(res.body.operationId as string);
  }
  await waitFor(
    async () => {
      const status = (await http('GET', `${gw.url}/v1/status`)).body.connections.ehr;
      return status.breaker.state === 'open' ? true : undefined;
    },
    { what: 'the breaker to open' },
  );
  // From the first probe after opening on, only probes may be sent; retries would come within
  // a few seconds (their back-off starts at one second), so several probes make a fair window.
  const probesSince = (from: number): number => proxy.seen.slice(from).filter((r) => isProbe(r.url)).length;
  const opened = proxy.seen.length;
  await waitFor(() => Promise.resolve(probesSince(opened) >= 1 ? true : undefined), {
    what: 'a first probe',
  });
  const from = proxy.seen.length;
  const attemptsAtOpen = await Promise.all(
    operationIds.map(async (id) => (await receipt(gw.url, id)).attempts),
  );
  // The failure that opened the breaker was an attempt; a write queued behind it may have none yet.
  expect(Math.max(...attemptsAtOpen)).toBeGreaterThanOrEqual(1);
  const triesAtOpen = await triesMade(operationIds);
  expect(triesAtOpen.every((t) => t >= 0)).toBe(true);
  await waitFor(() => Promise.resolve(probesSince(from) >= 8 ? true : undefined), {
    timeoutMs: 30000,
    what: 'eight probes while the breaker is open',
  });

  const sentWhileOpen = proxy.seen.slice(from).filter((r) => !isProbe(r.url));
  expect(sentWhileOpen.map((r) => `${r.method} ${r.url}`)).toEqual([]);
  const attemptsAfter = await Promise.all(
    operationIds.map(async (id) => (await receipt(gw.url, id)).attempts),
  );
  expect(attemptsAfter).toEqual(attemptsAtOpen);
  expect(await triesMade(operationIds)).toEqual(triesAtOpen);
  for (const id of operationIds) expect((await receipt(gw.url, id)).status).toBe('queued');

  await setFaults(gw.url, { mode: 'up' });
  const receipts = await waitForFinal(gw.url, operationIds);
  expect(receipts.map((r) => r.status)).toEqual(['succeeded', 'succeeded']);
  // One more attempt each, once the EHR answered the probe again.
  expect(receipts.map((r) => r.attempts)).toEqual(attemptsAtOpen.map((a) => a + 1));
});
