/**
 * The queue dashboard in headless Chromium, as an operator opens it: the browser is asked for
 * credentials by the 401 and signs in with Basic (client id and key), the board lists the tenant's
 * queues, a write held by an outage shows as its operation id and nothing else, and the board
 * offers no action on jobs. Screenshots go to test-artifacts/queue-dashboard-*.png.
 */
import type { Browser } from 'playwright-core';
import { SCOPES } from '../../src/domain/access';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import { http } from '../support/http';
import { setFaults } from '../support/pipeline';
import { scopedClientKey } from '../support/scoped-client';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

jest.setTimeout(120000);

const CANARY_EMAIL = 'qqboardcanary@canary-mail.example';

let gw: TestGateway;
let browser: Browser | undefined;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true, patientCount: 30 }, logging: { level: 'info' } },
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await setFaults(gw.url, { mode: 'up' });
  await gw.stop();
});

it('signs an operator in with Basic, shows the write queue and a held write by its id only, and offers no action', async () => {
  const operator = await scopedClientKey(gw.prefix, 'board-operator', SCOPES);
  // The EHR refuses connections: the write is accepted and waits in its queue for a retry.
  await setFaults(gw.url, { mode: 'down', kind: 'refuse' });
  const accepted = await http('PATCH', `${gw.url}/v1/patients/pat-0003`, { body: { email: CANARY_EMAIL } });
  expect(accepted.status).toBe(202);
  const operationId = accepted.body.operationId as string;

  const context = await browser!.newContext({
    httpCredentials: { username: operator.id, password: operator.key },
    viewport: { width: 1280, height: 800 },
  });
  try {
    const page = await context.newPage();
    const otherHosts = await refuseOtherHosts(page);
    const scriptErrors: string[] = [];
    page.on('pageerror', (error) => scriptErrors.push(error.message));

    await page.goto(`${gw.url}/admin/queues`);
    await page.getByText('writes: sandbox').first().waitFor({ timeout: 20000 });
    await screenshot(page, 'queue-dashboard-overview');

    await page.goto(`${gw.url}/admin/queues/queue/writes-sandbox?status=latest`);
    await page.getByText(operationId).first().waitFor({ timeout: 20000 });
    await screenshot(page, 'queue-dashboard-write');
    const text = (await page.locator('body').textContent()) ?? '';
    expect(text).not.toContain(CANARY_EMAIL);
    expect(text).not.toContain('pat-0003');
    // Read-only: nothing on the page moves, retries, cleans or adds a job.
    await expect(
      page
        .getByRole('button', { name: /retry|clean|promote|remove|add job|empty|pause|obliterate/i })
        .count(),
    ).resolves.toBe(0);

    expect(scriptErrors).toEqual([]);
    // Its web-font link is refused by the page's content policy before any request leaves.
    expect(otherHosts).toEqual([]);
  } finally {
    await context.close();
  }
});
