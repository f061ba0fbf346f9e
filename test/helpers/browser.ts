import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { tempDir } from './processes.js';
import { REPO_ROOT } from './slipway-images.js';
import type { Teardowns } from './teardowns.js';

/** Debian's Chromium (scripts/devenv installs it); puppeteer-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where tests leave screenshots: .work/artifacts/ (ignored by git, as all of .work/). */
export const ARTIFACTS_DIR = path.join(process.env.SLIPWAY_WORK ?? path.join(REPO_ROOT, '.work'), 'artifacts');

/**
 * Headless Chromium with a profile of its own, closed when the test ends. --no-sandbox: the
 * tests run as root, where Chromium's sandbox refuses to start. The rest keep it from reaching
 * for the network on its own (this machine has none to give; every refusal is noise).
 */
export async function launchBrowser(t: Teardowns): Promise<Browser> {
  const profile = await tempDir(t, 'slipway-chromium-');
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * What a page reported that a test should see: uncaught errors and console errors (a
 * Content-Security-Policy violation is one), and how often its main frame navigated.
 */
export function watchPage(page: Page): { problems: string[]; navigations: () => number } {
  const problems: string[] = [];
  let navigations = 0;
  page.on('pageerror', (err) => problems.push(`page error: ${err instanceof Error ? err.message : String(err)}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame()) navigations++;
  });
  return { problems, navigations: () => navigations };
}

/** Saves a PNG of the page under ARTIFACTS_DIR and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, name);
  await page.screenshot({ path: file as `${string}.png`, fullPage: true });
  return file;
}
