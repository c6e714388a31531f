import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { APP_DIR } from './helpers.js';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Browser tests run where Chromium is installed, and always in CI (where a missing one must fail). */
export const browserAvailable = existsSync(CHROMIUM) || process.env.CI === 'true';

/** Where the browser tests leave their screenshots (git-ignored). */
export const TEST_OUTPUT_DIR = process.env.TEST_OUTPUT_DIR ?? join(APP_DIR, 'test-output');

/** A headless Chromium with a fresh profile, closed (and its profile removed) by the returned close(). */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'mpc-relay-chromium-'));
  mkdirSync(TEST_OUTPUT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1440, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
