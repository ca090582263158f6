// npm run screenshots: every hosted page, in every language, light and dark, desktop and
// phone, as PNG files in screenshots/ (git-ignored), for people to review. Nothing here
// is asserted: test/e2e/accessibility.test.ts checks the same pages.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchChromium } from '../test/helpers/chromium.ts';
import { Harness } from '../test/helpers/harness.ts';
import { collectPages, createBrandedApp, galleryUrl, SCHEMES, serveGallery, VIEWPORTS } from '../test/helpers/page-gallery.ts';
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
    for (const scheme of SCHEMES) {
      await tab.emulateMedia({ colorScheme: scheme });
      for (const [size, viewport] of Object.entries(VIEWPORTS)) {
        await tab.setViewportSize(viewport);
        for (const { name } of pages) {
          await tab.goto(galleryUrl(h, language, name));
          await tab.screenshot({ path: join(OUT, `${language}-${name}-${scheme}-${size}.png`), fullPage: true });
          count++;
        }
      }
    }
    await context.close();
  }
  console.log(`${count} screenshots in ${OUT}`);
} finally {
  await chrome.close();
  await h.stop();
}
