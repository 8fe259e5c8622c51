/**
 * The operator console in headless Chromium, driven as an operator would: sign in with an API
 * key through the form, watch an outage and its recovery, retry a write the EHR refused, stop a
 * replay. The gateway is real (Redis, workers, the sandbox EHR and its fault switch); what the page
 * shows is checked on the page and what it did is checked through the API. Screenshots go to
 * test-artifacts/console-*.png.
 */
import type { Browser, Page } from 'playwright-core';
import { launchChromium, screenshot } from '../support/browser';
import { http } from '../support/http';
import { receipt, setFaults, waitForFinal } from '../support/pipeline';
import { scopedClient } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';
import { waitFor } from '../support/wait-for';

jest.setTimeout(180000);

let gw: TestGateway;
let browser: Browser | undefined;
let page: Page;
/** Errors the page logged: a script error, a request refused, a resource the content policy blocked. */
let pageErrors: string[];

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: {
      sandbox: { enabled: true, patientCount: 60 },
      connections: {
        sandbox: {
          maxWritesPerSecond: 0,
          breaker: { failureThreshold: 3, probeIntervalMs: 400 },
          credentialsProbeIntervalMs: 300,
        },
      },
      statusHistory: { intervalMs: 1000 },
      logging: { level: 'info' },
    },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await setFaults(gw.url, { mode: 'up' });
  await gw.stop();
});
beforeEach(async () => {
  page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
  pageErrors = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
});
afterEach(async () => {
  await page.close();
  await setFaults(gw.url, { mode: 'up' });
});

async function shot(name: string): Promise<void> {
  await screenshot(page, `console-${name}`);
}

async function signIn(key: string): Promise<void> {
  await page.goto(`${gw.url}/console`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The text of one fact of a connection card, e.g. its breaker state. */
function fact(connection: string, field: string): Promise<string | null> {
  return page.locator(`[data-connection="${connection}"] dd[data-field="${field}"]`).textContent();
}

/** Waits until the page shows what `check` looks for; fails with what it last saw. */
async function onPage<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15000): Promise<T> {
  return waitFor(check, { what: `the console to show ${what}`, timeoutMs, intervalMs: 100 });
}

async function freeSlots(count: number, daysAhead: number): Promise<string[]> {
  const from = new Date(Date.now() + daysAhead * 86_400_000).toISOString().slice(0, 10);
  const res = await http('GET', `${gw.url}/v1/slots?from=${from}&limit=${count}`);
  const ids = (res.body.slots as { id: string }[]).map((s) => s.id);
  if (ids.length < count) throw new Error(`only ${ids.length} free slots`);
  return ids;
}

/** Bookings the EHR forbids (403 on Appointment, patients still served): each ends failed, for real. */
async function refusedBookings(count: number, daysAhead: number, firstPatient: number): Promise<string[]> {
  const slots = await freeSlots(count, daysAhead);
  await setFaults(gw.url, { mode: 'down', kind: 'http403', paths: ['Appointment'] });
  const ids: string[] = [];
  for (const [i, slotId] of slots.entries()) {
    const patientId = `pat-${String(firstPatient + i).padStart(4, '0')}`;
    const res = await http('POST', `${gw.url}/v1/appointments`, {
      body: { patientId, slotId, mode: 'in-person', reason: 'Check-up' },
      headers: { 'idempotency-key': `console-${slotId}` },
    });
    expect(res.status).toBe(202);
    ids.push(res.body.operationId as string);
  }
  const final = await waitForFinal(gw.url, ids, 60000);
  expect(final.map((r) => r.status)).toEqual(ids.map(() => 'failed'));
  await setFaults(gw.url, { mode: 'up' });
  return ids;
}

it('shows an outage as it happens and the backlog draining when the EHR is back', async () => {
  await signIn(gw.key);
  await onPage('the sandbox connection, breaker closed', async () =>
    (await fact('sandbox', 'breaker')) === 'closed' ? true : undefined,
  );
  // Everything loaded under the content policy, nothing was refused, no script failed.
  expect(pageErrors).toEqual([]);
  // The key lives in this tab's session storage only: no cookie, nothing in local storage or the URL.
  // The page's own globals, read in the page (these tests compile without the DOM library).
  const storage = await page.evaluate(
    '({ cookie: document.cookie, local: localStorage.length, session: Object.keys(sessionStorage), url: location.href })',
  );
  expect(storage).toEqual({
    cookie: '',
    local: 0,
    session: ['continuum.console.key'],
    url: `${gw.url}/console`,
  });
  expect((await page.context().cookies()).length).toBe(0);

  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const ids: string[] = [];
  for (let i = 1; i <= 12; i++) {
    const res = await http('PATCH', `${gw.url}/v1/patients/pat-${String(i).padStart(4, '0')}`, {
      body: { email: `console-outage-${i}@example.org` },
      headers: { 'idempotency-key': `console-outage-${i}` },
    });
    expect(res.status).toBe(202);
    ids.push(res.body.operationId as string);
  }
  const seen = await onPage('the breaker open and a backlog', async () => {
    const [breaker, backlog] = [await fact('sandbox', 'breaker'), Number(await fact('sandbox', 'backlog'))];
    return breaker === 'open' && backlog > 0 ? { breaker, backlog } : undefined;
  });
  expect(seen.backlog).toBeLessThanOrEqual(12);
  expect(await page.locator('[data-connection="sandbox"] .badge').textContent()).toBe('ehr-unavailable');
  expect(await page.locator('#live').textContent()).toContain('breaker open');
  await shot('outage');

  await setFaults(gw.url, { mode: 'up' });
  await onPage(
    'the backlog drained and the breaker closed',
    async () =>
      (await fact('sandbox', 'backlog')) === '0' && (await fact('sandbox', 'breaker')) === 'closed'
        ? true
        : undefined,
    60000,
  );
  const receipts = await waitForFinal(gw.url, ids);
  expect(receipts.map((r) => r.status)).toEqual(ids.map(() => 'succeeded'));
  // The chart has the outage: samples with a backlog, and the open breaker shaded.
  const chart = page.locator('[data-connection="sandbox"] svg.chart');
  expect(Number(await chart.getAttribute('data-points'))).toBeGreaterThan(3);
  expect(await chart.locator('polyline.line-backlog').count()).toBe(1);
  expect(await chart.locator('rect.band-open').count()).toBeGreaterThan(0);
  const history = await http('GET', `${gw.url}/v1/status/history?minutes=5`);
  expect(history.body.samples.some((s: { backlog: number }) => s.backlog > 0)).toBe(true);
  await shot('recovered');

  expect(pageErrors).toEqual([]);
  await page.getByRole('button', { name: 'Sign out' }).click();
  expect(await page.evaluate('sessionStorage.length')).toBe(0);
  expect(await page.getByLabel('API key').isVisible()).toBe(true);
});

it('shows a failed write with its reason and retries it from the console', async () => {
  const [failedId] = await refusedBookings(1, 9, 20);
  if (failedId === undefined) throw new Error('no failed write');
  await signIn(gw.key);
  const row = page.locator(`#writes tr[data-operation="${failedId}"]`);
  await onPage('the failed write', async () => ((await row.count()) === 1 ? true : undefined));
  expect(await row.locator('[data-field="status"]').textContent()).toBe('failed');
  expect(await row.locator('[data-field="reason"]').textContent()).toContain(
    'EHR_REJECTED (EHR answered 403)',
  );
  await shot('failed-write');

  // Cancel, then change one's mind: nothing happens.
  page.once('dialog', (dialog) => void dialog.dismiss());
  await row.getByRole('button', { name: `Cancel ${failedId}` }).click();
  expect((await receipt(gw.url, failedId)).status).toBe('failed');

  // Retry, confirmed, from the keyboard.
  const confirmed: string[] = [];
  page.once('dialog', (dialog) => {
    confirmed.push(dialog.message());
    void dialog.accept();
  });
  await row.getByRole('button', { name: `Retry ${failedId}` }).focus();
  await page.keyboard.press('Enter');
  const done = await waitFor(
    async () => {
      const r = await receipt(gw.url, failedId);
      return r.status === 'succeeded' ? r : undefined;
    },
    { what: 'the retried write to succeed', timeoutMs: 30000 },
  );
  expect(confirmed[0]).toContain(`Retry write ${failedId}`);
  expect(done.resourceRef).toMatch(/^Appointment\//);
  expect(done.history.some((h: { note?: string }) => h.note === 'retried by an operator')).toBe(true);
  // The EHR holds the booking, once: booked for the patient, the only appointment on its slot.
  const booked = await http('GET', `${gw.fhirBase}/${done.resourceRef as string}`);
  expect(booked.body.status).toBe('booked');
  expect(JSON.stringify(booked.body.participant)).toContain('Patient/pat-0020');
  const slot = booked.body.slot[0].reference as string;
  const onSlot = await http('GET', `${gw.fhirBase}/Appointment?slot=${slot}&status=booked`);
  expect((onSlot.body.entry ?? []).length).toBe(1);
  await onPage('the write gone from the list', async () => ((await row.count()) === 0 ? true : undefined));
  // The console's audit search finds the booking and the retry of this patient's write.
  await page.getByLabel('Patient id').fill('pat-0020');
  await page.getByRole('button', { name: 'Search' }).click();
  const acts = page.locator('#audit tbody tr td:nth-child(2)');
  await onPage('the audit records of the patient', async () =>
    (await acts.allTextContents()).includes('appointment.book') ? true : undefined,
  );
  await shot('audit');
  // The retry is on the record, by the console's client.
  const audit = await http('GET', `${gw.url}/v1/audit?limit=20`);
  const kinds = (audit.body.auditEvents as { subtype: { code: string }[] }[]).map((e) => e.subtype[1]?.code);
  expect(kinds).toContain('operation.retry');
  expect(kinds).not.toContain('operation.cancel');
});

it('stops a replay from the console before it re-queued everything', async () => {
  const failed = await refusedBookings(5, 11, 30);
  await signIn(gw.key);
  await onPage('the failed writes', async () =>
    (await page.locator('#writes tr[data-operation]').count()) >= 5 ? true : undefined,
  );
  await page.getByLabel('Writes per second').fill('0.2');
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.accept();
  });
  await page.getByRole('button', { name: 'Start replay' }).click();
  const runRow = page.locator('#replays tr[data-replay]');
  await onPage('a running replay with progress', async () =>
    (await runRow.count()) === 1 &&
    /^[1-4] re-queued/.test((await runRow.locator('[data-field="progress"]').textContent()) ?? '')
      ? true
      : undefined,
  );
  expect(dialogs[0]).toBe('Replay 5 writes at 0.2 per second?');
  const replayId = await runRow.getAttribute('data-replay');
  await shot('replay-running');
  await runRow.getByRole('button', { name: `Stop ${replayId ?? ''}` }).click();
  await onPage('the replay stopped', async () =>
    (await runRow.locator('[data-field="state"]').textContent()) === 'stopped' ? true : undefined,
  );
  expect(dialogs[1]).toContain(`Stop replay ${replayId ?? ''}?`);
  await shot('replay-stopped');

  const run = (await http('GET', `${gw.url}/v1/operations/replay/${replayId ?? ''}`)).body;
  expect(run).toMatchObject({ state: 'stopped', total: 5 });
  expect(run.requeued).toBeGreaterThanOrEqual(1);
  expect(run.requeued).toBeLessThan(5);
  // The writes the run did not reach are still failed, ready for another replay.
  const statuses = await Promise.all(failed.map(async (id) => (await receipt(gw.url, id)).status as string));
  expect(statuses.filter((s) => s === 'failed')).toHaveLength(5 - run.requeued);
});

it('tells a key without the scopes which panels it may not see, and shows the rest', async () => {
  const reader = await scopedClient(gw.prefix, 'console-reader', ['operations:read']);
  await signIn(reader.authorization!.replace('Bearer ', ''));
  await onPage('the sandbox connection', async () =>
    (await fact('sandbox', 'breaker')) === 'closed' ? true : undefined,
  );
  const notice = (panel: string) => page.locator(`#${panel} .notice`);
  await onPage('the replay panel refused', async () =>
    (await notice('replays').isVisible()) ? true : undefined,
  );
  expect(await notice('replays').textContent()).toContain('operations:admin');
  expect(await notice('subscribers').textContent()).toContain('events:admin');
  expect(await page.locator('#replay-form').isVisible()).toBe(false);
  await page.getByRole('button', { name: 'Search' }).click();
  await onPage('the audit panel refused', async () =>
    (await notice('audit').isVisible()) ? true : undefined,
  );
  expect(await notice('audit').textContent()).toContain('audit:read');
  expect(await notice('connections').isVisible()).toBe(false);
  await shot('read-only');
});

it('puts what the API returns on the page as text, never as markup', async () => {
  const hostile = '<img src=x onerror="window.__hostile=1"><b>bold</b>';
  // The API's answer is replaced in the browser only: what is under test is the page's rendering.
  const needsReview = (url: URL): boolean =>
    url.pathname === '/v1/operations' && url.searchParams.get('status') === 'needs-review';
  await page.route(needsReview, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify({
        count: 1,
        operations: [
          {
            operationId: 'op_hostile0000000',
            kind: 'patient.update',
            status: 'needs-review',
            connection: 'sandbox',
            patientId: 'pat-0001',
            resourceRef: null,
            attempts: 1,
            lastError: null,
            history: [],
            review: {
              reason: hostile,
              fields: [{ element: hostile, base: hostile, current: 'x', requested: 'y' }],
            },
            createdAt: new Date().toISOString(),
            updatedAt: new Date().toISOString(),
          },
        ],
      }),
    }),
  );
  await signIn(gw.key);
  const row = page.locator('#writes tr[data-operation="op_hostile0000000"]');
  await onPage('the needs-review write', async () => ((await row.count()) === 1 ? true : undefined));
  expect(await row.locator('[data-field="reason"]').textContent()).toBe(hostile);
  expect(await page.locator('#writes img, #writes b').count()).toBe(0);
  expect(await page.evaluate('window.__hostile')).toBeUndefined();
  await shot('review-diff');
});

it('serves the page under a policy that allows no inline script and no other origin', async () => {
  const res = await http('GET', `${gw.url}/console`, { anonymous: true });
  expect(res.status).toBe(200);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("form-action 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(String(res.body)).not.toMatch(/<script(?![^>]*\bsrc=)/);
  // The page holds nothing of anyone's: the API behind it still wants a key.
  expect((await http('GET', `${gw.url}/v1/status`, { anonymous: true })).status).toBe(401);
});
