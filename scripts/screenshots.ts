// npm run screenshots: every hosted page, in every language, light and dark, desktop and
// phone, as PNG files in screenshots/ (git-ignored), for people to review. Nothing here
// is asserted: test/e2e/accessibility.test.ts checks the same pages.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium } from '../test/helpers/chromium.ts';
import { Harness } from '../test/helpers/harness.ts';
import { collectPages, createBrandedApp, serveGallery, visitEveryView } from '../test/helpers/page-gallery.ts';
import { LANGUAGES } from '../src/text/language.ts';

const OUT = resolve(import.meta.dirname, '../screenshots');

const h = new Harness();
await h.start();
const chrome = await launchChromium();
try {
  mkdirSync(OUT, { recursive: true });
  const app = await createBrandedApp(h);
  let count = 0;
  for (const language of LANGUAGES) {
    const pages = await collectPages(h, app, language);
    const context = await chrome.newContext();
    await serveGallery(context, h, language, pages);
    const tab = await context.newPage();
    await visitEveryView(tab, h, language, pages, async ({ name, scheme, size }) => {
      await tab.screenshot({ path: join(OUT, `${language}-${name}-${scheme}-${size}.png`), fullPage: true });
      count++;
    });
    await context.close();
  }
  console.log(`${count} screenshots in ${OUT}`);
} finally {
  await chrome.close();
  await h.stop();
}
