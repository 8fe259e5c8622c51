/**
 * Headless Chromium for the tests of the gateway's web pages (console, docs, queue dashboard):
 * Debian's chromium driven by playwright-core, which downloads no browser of its own. Without the
 * background-networking flags Chromium calls home at start, which a closed network refuses.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { projectRoot } from '../../src/project-root';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots are saved for people to look at (ignored by git). */
export const ARTIFACTS = join(projectRoot(), 'test-artifacts');

export async function launchChromium(): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
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
}

/** The whole page by default; `fullPage: false` for pages longer than anyone would scroll (the API reference). */
export async function screenshot(
  page: Page,
  name: string,
  options: { fullPage?: boolean } = {},
): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: options.fullPage ?? true });
}

/** Records every request the page makes to a host other than loopback, and refuses it. */
export async function refuseOtherHosts(page: Page): Promise<string[]> {
  const attempted: string[] = [];
  await page.route('**/*', async (route) => {
    const { hostname } = new URL(route.request().url());
    if (hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]') {
      await route.continue();
      return;
    }
    attempted.push(route.request().url());
    await route.abort('blockedbyclient');
  });
  return attempted;
}
