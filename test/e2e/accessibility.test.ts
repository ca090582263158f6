// Every hosted page in real Chromium: axe-core finds no violation (WCAG 2.2 A and AA, and
// axe's best practices) in light and dark mode, at desktop and phone sizes, in every
// shipped language; a person signs in with the keyboard alone and sees where the focus
// is; the engine's self-submitting form works with and without JavaScript.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser as Chromium, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../helpers/chromium.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { collectPages, createBrandedApp, LOGO_SVG, LOGO_URI, SCHEMES, serveGallery, visitEveryView } from '../helpers/page-gallery.ts';
import { linkIn } from '../helpers/smtp-capture.ts';
import { contrast } from '../../src/text/colour.ts';
import { LANGUAGES } from '../../src/text/language.ts';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];
const CALLBACK = /^http:\/\/localhost:8080\/callback/;

interface Violation {
  readonly id: string;
  readonly nodes: readonly { readonly target: readonly unknown[] }[];
}

// The page-side code is written as strings: it runs in the page, where the DOM is (this
// project's TypeScript has no DOM types).
async function axeViolations(page: Page): Promise<Violation[]> {
  await page.addScriptTag({ content: AXE });
  return page.evaluate<Violation[]>(`axe.run(document, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} }, resultTypes: ['violations'] })
    .then((r) => r.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => ({ target: n.target })) })))`);
}

interface Focus {
  readonly tag: string;
  readonly id: string;
  readonly text: string;
  readonly outline: string;
  readonly width: string;
  readonly colour: string;
  readonly card: string;
  readonly font: string;
  readonly bodyFont: string;
}

function focused(tab: Page): Promise<Focus> {
  return tab.evaluate<Focus>(`(() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    return {
      tag: el.tagName, id: el.id, text: el.textContent, outline: style.outlineStyle, width: style.outlineWidth, colour: style.outlineColor,
      card: getComputedStyle(document.querySelector('main')).backgroundColor, font: style.fontFamily, bodyFont: getComputedStyle(document.body).fontFamily,
    };
  })()`);
}

const hex = (rgb: string) => `#${(rgb.match(/\d+/g) ?? []).slice(0, 3).map((c) => Number(c).toString(16).padStart(2, '0')).join('')}`;

describe('hosted pages in Chromium: accessibility, keyboard, no JavaScript', function () {
  this.timeout(180_000);
  const h = new Harness();
  let app: AppJson;
  let chrome: Chromium;

  before(async function () {
    skipWithoutChromium(this);
    await h.start();
    app = await createBrandedApp(h);
    chrome = await launchChromium();
  });
  after(async () => {
    await chrome?.close();
    await h.stop();
  });

  async function newContext(options: Parameters<Chromium['newContext']>[0] = {}) {
    const context = await chrome.newContext(options);
    await context.route(LOGO_URI, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
    return context;
  }

  for (const language of LANGUAGES) {
    it(`${language}: axe finds nothing on any page, light and dark, desktop and phone; nothing is wider than the screen`, async () => {
      const pages = await collectPages(h, app, language);
      expect(pages.length).to.be.at.least(15);
      const context = await newContext();
      await serveGallery(context, h, language, pages);
      const tab = await context.newPage();
      const found: string[] = [];
      await visitEveryView(tab, h, language, pages, async ({ name, scheme, size }) => {
        const overflow = await tab.evaluate<boolean>('document.documentElement.scrollWidth > document.documentElement.clientWidth');
        if (overflow) found.push(`${name} ${scheme} ${size}: wider than the screen`);
        for (const v of await axeViolations(tab)) found.push(`${name} ${scheme} ${size}: ${v.id} at ${JSON.stringify(v.nodes.map((n) => n.target))}`);
      });
      await context.close();
      expect(found).to.deep.equal([]);
    });
  }

  for (const colorScheme of SCHEMES) {
    it(`signs in with the keyboard alone, the focus ring 3 px and at least 3:1 against the card (${colorScheme})`, async () => {
      const context = await newContext({ colorScheme });
      const tab = await context.newPage();
      const request = await h.authorizationRequest(app);
      await tab.goto(request.url.href);
      const email = `keyboard-${colorScheme}@example.com`;
      const since = h.smtp.mails.length;
      // autofocus is applied when the page is first rendered, which may follow the load event.
      await tab.waitForFunction("document.activeElement?.id === 'email'", undefined, { timeout: 5000 }).catch(() => {});
      expect((await focused(tab)).id, 'the address field has the focus').to.equal('email');
      await tab.keyboard.type(email);
      await tab.keyboard.press('Tab');
      const ring = await focused(tab);
      expect(ring.tag).to.equal('BUTTON');
      expect([ring.outline, ring.width]).to.deep.equal(['solid', '3px']);
      expect(contrast(hex(ring.colour), hex(ring.card)), `${ring.colour} on ${ring.card}`).to.be.at.least(3);
      expect(ring.font, 'buttons use the page font').to.equal(ring.bodyFont);
      await tab.keyboard.press('Enter');
      await tab.getByRole('heading', { name: 'Check your email' }).waitFor();
      await tab.goto(linkIn(await h.smtp.next(email, since)));
      await tab.keyboard.press('Tab');
      expect((await focused(tab)).text).to.equal('Sign in to Acme Notes');
      // Nothing listens at the app's redirect URI: the request that reaches it is the proof.
      const [callback] = await Promise.all([tab.waitForRequest(CALLBACK), tab.keyboard.press('Enter')]);
      expect(new URL(callback.url()).searchParams.get('code')).to.be.a('string');
      await context.close();
    });
  }

  it('the engine\'s self-submitting sign-out works without JavaScript (a button) and with it (on its own)', async () => {
    for (const javaScriptEnabled of [false, true]) {
      const context = await newContext({ javaScriptEnabled });
      const tab = await context.newPage();
      await tab.goto(`${app.issuer}/session/end`);
      if (!javaScriptEnabled) {
        expect(await tab.title()).to.equal('One moment – Acme Notes');
        await tab.getByRole('button', { name: 'Continue' }).click();
      }
      await tab.getByRole('heading', { name: 'You are signed out' }).waitFor();
      await context.close();
    }
  });
});
