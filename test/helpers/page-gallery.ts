// Every page a person can meet, in one language, as the server sends it: collected over
// HTTP with the test browser, then shown in Chromium (accessibility test, screenshots).
// The app is branded with everything an admin can set, so every part of the layout shows.
import { Browser, type Page } from './browser.ts';
import type { AppJson, Harness } from './harness.ts';
import { linkIn } from './smtp-capture.ts';
import type { BrowserContext, Page as Tab } from 'playwright-core';
import type { Language } from '../../src/text/language.ts';

export const LOGO_URI = 'https://logo.example.test/brand/acme.svg';
/** A logo Chromium can load (tests route LOGO_URI to it). */
export const LOGO_SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 40 40"><circle cx="20" cy="20" r="18" fill="#6b2fa3"/><path d="M12 26l8-14 8 14z" fill="#fff"/></svg>';

export const BRANDING = {
  logo_uri: LOGO_URI,
  primary_color: '#6b2fa3',
  client_uri: 'https://acme.example.test/',
  policy_uri: 'https://acme.example.test/privacy',
  tos_uri: 'https://acme.example.test/terms',
  support_email: 'help@acme.example.test',
};

export function createBrandedApp(h: Harness, name = 'Acme Notes'): Promise<AppJson> {
  return h.createApp({ name, ...BRANDING });
}

export interface GalleryPage {
  readonly name: string;
  readonly status: number;
  readonly body: string;
}

function shown(name: string, page: Page): GalleryPage {
  return { name, status: page.status, body: page.body };
}

/** The pages of a whole sign-in and sign-out, its mistakes and dead ends included. */
export async function collectPages(h: Harness, app: AppJson, language: Language): Promise<GalleryPage[]> {
  const pages: GalleryPage[] = [];
  // A browser set to the language, as a person's is; the app asks for it too (ui_locales).
  const acceptLanguage = { 'accept-language': language };
  const email = `gallery-${language}-${Math.random().toString(36).slice(2, 8)}@example.com`;
  const browser = new Browser(acceptLanguage);
  const login = await h.startLogin(app, browser, { params: { ui_locales: language } });
  pages.push(shown('login', login.page));
  pages.push(shown('login-invalid-address', await browser.submit(login.page, { email: 'not an address' })));
  const requested = await h.requestLink(browser, login.page, email);
  pages.push(shown('check-email', requested.page));
  pages.push(shown('check-email-wrong-code', await browser.submit(requested.page, { code: 'WXYZ-WXYZ' }, '/code')));
  const since = h.smtp.mails.length;
  const resent = await browser.submit(requested.page, {}, '/resend');
  pages.push(shown('check-email-new-link-sent', resent));
  const link = linkIn(await h.smtp.next(email, since));
  pages.push(shown('link-in-another-browser', await new Browser({ 'accept-language': 'en' }).request(link)));
  const confirm = await browser.navigate(link);
  pages.push(shown('confirm-link', confirm));
  pages.push(shown('link-superseded', await browser.navigate(requested.link)));
  const done = await browser.submit(confirm, {}, '/link', login.redirectUri);
  if (!done.url.startsWith(login.redirectUri)) throw new Error(`gallery sign-in did not finish: ${done.status}`);
  pages.push(shown('link-already-used', await browser.navigate(link)));
  pages.push(shown('attempt-ended', await new Browser(acceptLanguage).request(login.page.url)));

  const wrongRedirect = await h.authorizationRequest(app, { redirectUri: 'https://elsewhere.example.test/cb', params: { ui_locales: language } });
  pages.push(shown('engine-error', await new Browser(acceptLanguage).request(wrongRedirect.url.href)));

  const endSession = `${app.issuer}/session/end?client_id=${app.client_id}&ui_locales=${language}`;
  const logout = await browser.navigate(endSession);
  pages.push(shown('sign-out-question', logout));
  pages.push(shown('signed-out', await browser.submit(logout, { logout: 'yes' })));
  pages.push(shown('nothing-changed', await new Browser(acceptLanguage).request(`${app.issuer}/session/end/decline`)));
  pages.push(shown('continue-without-javascript', await new Browser(acceptLanguage).request(`${app.issuer}/session/end`)));
  return pages;
}

/** Each page of a gallery at its own URL on the server's origin, so its stylesheets load from the server. */
export const galleryUrl = (h: Harness, language: Language, name: string) => `${h.url}/__gallery/${language}/${name}`;

/**
 * Serves `pages` to `context` at galleryUrl and the logo at LOGO_URI. Scripts are left
 * out: the engine's one script would submit the form before anyone looked at the page
 * that browsers without JavaScript show.
 */
export async function serveGallery(context: BrowserContext, h: Harness, language: Language, pages: readonly GalleryPage[]): Promise<void> {
  await context.route(LOGO_URI, (route) => route.fulfill({ status: 200, contentType: 'image/svg+xml', body: LOGO_SVG }));
  for (const page of pages) {
    const body = page.body.replace(/<script>[\s\S]*?<\/script>/g, '');
    await context.route(galleryUrl(h, language, page.name), (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body }));
  }
}

export const VIEWPORTS = { desktop: { width: 1280, height: 800 }, phone: { width: 390, height: 844 } } as const;
export const SCHEMES = ['light', 'dark'] as const;

/** Shows every page in `tab` in each colour scheme and screen size, and calls `visit` on each view. */
export async function visitEveryView(
  tab: Tab,
  h: Harness,
  language: Language,
  pages: readonly GalleryPage[],
  visit: (view: { name: string; scheme: (typeof SCHEMES)[number]; size: string }) => Promise<void>,
): Promise<void> {
  for (const scheme of SCHEMES) {
    await tab.emulateMedia({ colorScheme: scheme });
    for (const [size, viewport] of Object.entries(VIEWPORTS)) {
      await tab.setViewportSize(viewport);
      for (const { name } of pages) {
        await tab.goto(galleryUrl(h, language, name));
        await visit({ name, scheme, size });
      }
    }
  }
}
