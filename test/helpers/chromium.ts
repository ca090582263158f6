// Debian's Chromium driven by playwright-core (npm never downloads a browser), and the
// person's part of a sign-in on the hosted pages in it.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { Harness } from './harness.ts';
import { linkIn } from './smtp-capture.ts';

export const CHROMIUM = '/usr/bin/chromium';

/** Call in a `before` hook: skips the suite, saying why, where Chromium is not installed. */
export function skipWithoutChromium(context: Mocha.Context): void {
  if (!existsSync(CHROMIUM)) {
    console.warn(`    SKIPPED: ${CHROMIUM} not found (apt-get install chromium); .ci/run installs it`);
    context.skip();
  }
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/**
 * The person on the hosted login page `page` shows: types the address, asks for a link,
 * opens the link from the mail in the same tab and confirms. The page then follows the
 * redirect back to the app.
 */
export async function signInOnHostedPage(h: Harness, page: Page, email: string, appName: string): Promise<void> {
  const since = h.smtp.mails.length;
  await page.getByLabel('Email address').fill(email);
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  await page.goto(linkIn(await h.smtp.next(email, since)));
  await page.getByRole('button', { name: `Sign in to ${appName}` }).click();
}
