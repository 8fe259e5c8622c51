/**
 * /docs in a real browser on a machine without internet: the page renders the API from the
 * gateway alone. Every request the page makes to another host is refused and recorded, and none
 * may be attempted.
 */
import type { Browser } from 'playwright-core';
import { launchChromium, refuseOtherHosts, screenshot } from '../support/browser';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: { sandbox: { enabled: true } },
  });
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser.close();
  await gw.stop();
});

it('renders the whole API from the gateway alone, asking no other host for anything', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const elsewhere = await refuseOtherHosts(page);
  const refusedByPolicy: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refusedByPolicy.push(message.text());
  });

  const answer = await page.goto(`${gw.url}/docs`);
  expect(answer?.status()).toBe(200);
  await page
    .getByRole('heading', { name: 'Look a caller up by phone number' })
    .first()
    .waitFor({ state: 'visible', timeout: 20_000 });
  await screenshot(page, 'docs', { fullPage: false });
  const text = await page.locator('body').innerText();
  await page.close();

  for (const summary of [
    'Continuum',
    'Look a caller up by phone number',
    'Verify a caller’s identity',
    'Book an appointment',
    'Request a callback',
    'Follow a receipt',
  ]) {
    expect(text).toContain(summary);
  }

  expect(elsewhere).toEqual([]);
  expect(refusedByPolicy).toEqual([]);
}, 60_000);
