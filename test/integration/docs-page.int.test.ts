/**
 * /docs in a real browser on a machine without internet: the page renders the API from the
 * gateway alone. Every request the page makes to another host is refused and recorded, and none
 * may be attempted.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { projectRoot } from '../../src/project-root';
import { startTestGateway, type TestGateway } from '../support/test-gateway';

const PORT = 19210;

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  gw = await startTestGateway({
    overrides: { server: { port: PORT, host: '127.0.0.1' }, sandbox: { enabled: true } },
  });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-gpu',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser.close();
  await gw.stop();
});

it('renders the whole API from the gateway alone, asking no other host for anything', async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const elsewhere: string[] = [];
  const refusedByPolicy: string[] = [];
  await page.route(
    (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
    async (route) => {
      elsewhere.push(route.request().url());
      await route.abort();
    },
  );
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refusedByPolicy.push(message.text());
  });

  const answer = await page.goto(`${gw.url}/docs`);
  expect(answer?.status()).toBe(200);
  await page
    .getByRole('heading', { name: 'Look a caller up by phone number' })
    .first()
    .waitFor({ state: 'visible', timeout: 20_000 });
  mkdirSync(join(projectRoot(), 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(projectRoot(), 'test-artifacts', 'docs.png') });
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
