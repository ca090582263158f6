// Debian's Chromium for the real-browser tests, driven by playwright-core. A suite on a
// machine without it is skipped, saying so (CI installs it).
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

/** Chromium, headless; skips the suite whose `before` hook `hook` is when it is not installed. */
export async function launchChromium(hook: Mocha.Context): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    console.warn(`    SKIPPED: ${CHROMIUM} not found (apt-get install chromium); .ci/run installs it`);
    hook.skip();
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
