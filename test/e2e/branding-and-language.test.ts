// What a person sees of the app they sign in to, in their language: the admin's branding
// fields (and their refusals), the language from ui_locales, Accept-Language and the app's
// default carried through the mail to the link's page, the copy of every dead end, and the
// engine's errors and self-submitting form in our words and look.
import { expect } from 'chai';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { BRANDING, createBrandedApp, LOGO_URI } from '../helpers/page-gallery.ts';

const langOf = (page: Page) => /<html lang="([^"]+)" dir="([^"]+)">/.exec(page.body)?.slice(1);
const csp = (page: Page) => page.headers.get('content-security-policy') ?? '';
const imgSrc = (page: Page) => /img-src ([^;]*)/.exec(csp(page))?.[1];

describe('branding and languages of the hosted pages and the mail', function () {
  this.timeout(30_000);
  const h = new Harness();
  let branded: AppJson;
  let plain: AppJson;
  let n = 0;
  const addr = (tag: string) => `${tag}-${++n}@example.com`;

  before(async () => {
    await h.start();
    branded = await createBrandedApp(h, 'Acme Notes');
    plain = await h.createApp({ name: 'Plain App' });
  });
  after(() => h.stop());

  describe('the admin API', () => {
    it('stores every branding field, normalised, shows unset ones as null, and removes one on null', async () => {
      const created = await h.createApp({ name: 'Shown', ...BRANDING, primary_color: '#6B2FA3', support_email: ' Help@Acme.Example.TEST ', default_language: 'fr' });
      expect(created).to.include({ ...BRANDING, primary_color: '#6b2fa3', support_email: 'help@acme.example.test', default_language: 'fr', support_uri: null });
      expect(plain).to.include({ logo_uri: null, primary_color: null, client_uri: null, default_language: 'en' });
      const patched = await h.admin('PATCH', `/admin/apps/${created.app_id}`, { logo_uri: null, support_uri: 'https://acme.example.test/help', default_language: null });
      expect(patched.status).to.equal(200);
      expect(patched.body).to.include({ logo_uri: null, support_uri: 'https://acme.example.test/help', default_language: 'en', tos_uri: BRANDING.tos_uri });
    });

    const hostile: [string, unknown, RegExp][] = [
      ['logo_uri', 'javascript:alert(1)', /logo_uri must use https/],
      ['logo_uri', 'JaVaScRiPt:alert(1)', /logo_uri must use https/],
      ['logo_uri', 'data:image/svg+xml,<svg onload=alert(1)>', /logo_uri/],
      ['logo_uri', 'http://localhost:8080/logo.png', /logo_uri must use https/],
      ['logo_uri', "https://cdn.example/a.png;script-src 'unsafe-inline'", /logo_uri must not contain spaces|logo_uri must not contain ;/],
      ['logo_uri', 'https://cdn.example/a.png;img-src', /logo_uri must not contain ;/],
      ['logo_uri', 'https://cdn.example/a,b.png', /logo_uri must not contain ;/],
      ['logo_uri', 'https://user:pw@cdn.example/a.png', /credentials/],
      ['primary_color', 'red;}', /primary_color must be a colour written #rrggbb/],
      ['primary_color', '#fff', /#rrggbb/],
      ['primary_color', '#1f4fd1;}body{display:none', /#rrggbb/],
      ['primary_color', 0x1f4fd1, /#rrggbb/],
      ['primary_color', '#ffff00', /contrast of 1\.07:1 with the white button text; WCAG AA needs 4\.5:1/],
      ['primary_color', '#87CEEB', /4\.5:1/],
      ['client_uri', 'javascript:alert(1)', /client_uri must use https/],
      ['policy_uri', 'https://acme.example/privacy#top', /fragment/],
      ['tos_uri', 'ftp://acme.example/terms', /tos_uri must use https/],
      ['support_uri', '//acme.example/help', /support_uri must be an absolute URI/],
      ['support_email', 'help@acme.example\r\nBcc: everyone@example.com', /support_email: Enter a single email address/],
      ['support_email', 'not an address', /support_email/],
      ['default_language', 'xx', /default_language must be one of en, de, fr, es, ar/],
      ['default_language', 'DE', /default_language must be one of/],
    ];
    for (const [field, value, message] of hostile) {
      it(`refuses ${field} ${JSON.stringify(value).slice(0, 50)} with a 400 that names it, on create and on update`, async () => {
        const create = await h.admin('POST', '/admin/apps', { name: 'Hostile', redirect_uris: [REDIRECT_URI], [field]: value });
        expect(create.status, JSON.stringify(create.body)).to.equal(400);
        expect(create.body.error_description).to.match(message);
        const update = await h.admin('PATCH', `/admin/apps/${plain.app_id}`, { [field]: value });
        expect(update.status).to.equal(400);
        expect(update.body.error_description).to.match(message);
      });
    }
  });

  describe('branding on the pages', () => {
    it('shows the logo with alt text, the accent and the app\'s links; the CSP lets in that one logo and no other image', async () => {
      const { page } = await h.startLogin(branded, new Browser());
      expect(page.body).to.include(`<img class="logo" src="${LOGO_URI}" alt="Acme Notes logo" width="40" height="40">`);
      expect(page.body).to.include('<link rel="stylesheet" href="/assets/accent/6b2fa3.css">');
      expect(page.body).to.include('<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">');
      for (const [href, text] of [
        [BRANDING.client_uri, 'Back to Acme Notes'],
        [BRANDING.policy_uri, 'Privacy policy'],
        [BRANDING.tos_uri, 'Terms of service'],
        [`mailto:${BRANDING.support_email}`, 'Help and support'],
      ]) {
        expect(page.body).to.include(`<a href="${href}">${text}</a>`);
      }
      expect(imgSrc(page)).to.equal("'self' https://logo.example.test/brand/acme.svg");
      expect(csp(page)).to.include("script-src 'none'").and.include("default-src 'none'");
      const unbranded = await h.startLogin(plain, new Browser());
      expect(imgSrc(unbranded.page)).to.equal("'self'");
      expect(unbranded.page.body).to.not.include('<footer>').and.not.include('/assets/accent/');
    });

    it('serves the accent stylesheet of an accepted colour only, at its one spelling', async () => {
      const sheet = await fetch(`${h.url}/assets/accent/6b2fa3.css`);
      expect(sheet.status).to.equal(200);
      expect(sheet.headers.get('content-type')).to.match(/^text\/css/);
      const css = await sheet.text();
      expect(css).to.include('--accent:#6b2fa3').and.include('prefers-color-scheme:dark');
      for (const path of ['ffff00.css', '6B2FA3.css', 'zzzzzz.css', '6b2fa3.x.css', '%236b2fa3.css']) {
        const refused = await fetch(`${h.url}/assets/accent/${path}`);
        expect(refused.status, path).to.equal(400);
      }
      for (const path of ['6b2fa3', '6b2fa3.css.map', '6b2fa3.cs%73', '..%2Fpostern.css', '6b2fa3.css/']) {
        const refused = await fetch(`${h.url}/assets/accent/${path}`);
        expect(refused.status, path).to.equal(404);
      }
      const icon = await fetch(`${h.url}/assets/favicon.svg`);
      expect(icon.headers.get('content-type')).to.match(/^image\/svg\+xml/);
    });

    it('brands the mail: logo with alt text, the accent, "Back to" the app, a viewport, and the validity as a duration', async () => {
      const browser = new Browser();
      const { page } = await h.startLogin(branded, browser);
      const { mail } = await h.requestLink(browser, page, addr('mail'));
      expect(mail.html).to.include(`<img src="${LOGO_URI}" alt="Acme Notes logo" width="48" height="48"`);
      expect(mail.html).to.include('background:#6b2fa3');
      expect(mail.html).to.include('<meta name="viewport" content="width=device-width, initial-scale=1">');
      expect(mail.html).to.include(`<a href="${BRANDING.client_uri}"`).and.include('Back to Acme Notes');
      expect(mail.html).to.include('overflow-wrap:anywhere;word-break:normal').and.not.include('word-break:break-all');
      expect(mail.text).to.include('The link works once and is valid for 15 minutes.').and.include(`Back to Acme Notes: ${BRANDING.client_uri}`);
      expect(mail.text).to.not.match(/GMT|UTC/);
    });
  });

  describe('the language', () => {
    it('follows ui_locales from the authorization request to the pages, the mail and the link, opened in any browser', async () => {
      const browser = new Browser({ 'accept-language': 'en' });
      const { page } = await h.startLogin(branded, browser, { params: { ui_locales: 'de-CH en' } });
      expect(langOf(page)).to.deep.equal(['de', 'ltr']);
      expect(page.body).to.include('Anmeldelink per E-Mail senden');
      const email = addr('deutsch');
      const { page: sent, mail, link } = await h.requestLink(browser, page, email);
      expect(sent.body).to.include('Der Link funktioniert einmal, 15 Minuten lang.');
      expect(mail.subject).to.equal('Bei Acme Notes anmelden');
      expect(mail.html).to.include('<html lang="de" dir="ltr">');
      expect(mail.text).to.include('ist 15 Minuten gültig');
      expect(link).to.match(/&lang=de$/);
      // Another device, set to English: the link's page still speaks German.
      const elsewhere = await new Browser({ 'accept-language': 'en' }).request(link);
      expect(elsewhere.status).to.equal(403);
      expect(langOf(elsewhere)).to.deep.equal(['de', 'ltr']);
      expect(elsewhere.body).to.include('Öffnen Sie diesen Link in dem Browser, in dem Sie begonnen haben');
      const confirm = await browser.navigate(link);
      expect(langOf(confirm)).to.deep.equal(['de', 'ltr']);
      expect(formOn(confirm, '/link').fields.lang).to.equal('de');
    });

    it('else takes Accept-Language, else the app\'s default_language; Arabic is right to left', async () => {
      const spanish = await h.createApp({ name: 'Por Defecto', default_language: 'es' });
      const byDefault = await h.startLogin(spanish, new Browser({ 'accept-language': 'ja, tlh;q=0.5' }));
      expect(langOf(byDefault.page)).to.deep.equal(['es', 'ltr']);
      const byBrowser = await h.startLogin(spanish, new Browser({ 'accept-language': 'fr-CA, es;q=0.5' }));
      expect(langOf(byBrowser.page)).to.deep.equal(['fr', 'ltr']);
      const byRequest = await h.startLogin(spanish, new Browser({ 'accept-language': 'fr' }), { params: { ui_locales: 'AR' } });
      expect(langOf(byRequest.page)).to.deep.equal(['ar', 'rtl']);
      expect(byRequest.page.body).to.include('<input id="email" name="email" type="email" autocomplete="email" inputmode="email" required autofocus dir="ltr"');
    });

    it('ignores a link\'s lang it does not have, and hostile language input, without failing', async () => {
      const browser = new Browser();
      const { page } = await h.startLogin(plain, browser);
      const { link } = await h.requestLink(browser, page, addr('hostile-lang'));
      for (const lang of ['%3Cscript%3E', 'AR', 'de&lang=fr', 'x'.repeat(5000), '']) {
        const shown = await new Browser({ 'accept-language': 'es' }).request(link.replace(/lang=en$/, `lang=${lang}`));
        expect(shown.status, lang.slice(0, 20)).to.equal(403);
        expect(langOf(shown)?.[0], lang.slice(0, 20)).to.be.oneOf(['es', 'de']);
      }
      const long = await new Browser({ 'accept-language': `${'x-a;q=0.1,'.repeat(800)}de` }).request(page.url);
      expect(long.status).to.be.below(500);
      const weird = await h.authorizationRequest(plain, { params: { ui_locales: '\u202Ear <script>' } });
      expect((await new Browser().navigate(weird.url.href)).status).to.be.below(500);
    });
  });

  describe('words on every dead end', () => {
    it('says "1 minute", not "1 minutes"', async () => {
      const quick = await h.createApp({ name: 'Quick', magic_link_ttl: 60 });
      const browser = new Browser();
      const { page } = await h.startLogin(quick, browser);
      const { page: sent, mail } = await h.requestLink(browser, page, addr('quick'));
      expect(sent.body).to.include('The link works once, for 1 minute.');
      expect(mail.text).to.include('valid for 1 minute.');
      expect(`${sent.body}${mail.text}`).to.not.include('1 minutes');
    });

    it('confirms "Send me a new link" in words', async () => {
      const browser = new Browser();
      const { page } = await h.startLogin(plain, browser);
      const { page: sent } = await h.requestLink(browser, page, addr('resend'));
      expect(sent.body).to.not.include('We sent a new link');
      const again = await browser.submit(sent, {}, '/resend');
      expect(again.body).to.include('<p class="sent" role="status">We sent a new link to <strong>');
    });

    it('offers a way on from a used link in another browser and from an ended attempt: the app\'s sign-in, else its home page, else words', async () => {
      const withStart = await h.createApp({ name: 'Starts', initiate_login_uri: 'https://starts.example.test/login', client_uri: 'https://starts.example.test/' });
      for (const [app, expected] of [
        [withStart, '<a class="button" href="https://starts.example.test/login">Start signing in again</a>'],
        [branded, `<a class="button" href="${BRANDING.client_uri}">Back to Acme Notes</a>`],
        [plain, '<p class="hint">Go back to Plain App and sign in again.</p>'],
      ] as const) {
        const browser = new Browser();
        const login = await h.startLogin(app, browser);
        const ended = await new Browser().request(login.page.url);
        expect(ended.status).to.equal(400);
        expect(ended.body).to.include(expected);
        expect(ended.body.match(/sign in again/gi)?.length ?? 0, 'says it once').to.be.at.most(1);
        const { link } = await h.requestLink(browser, login.page, addr('used'));
        await h.confirmSignIn(browser, (await h.startLogin(app, browser)).page, addr('other'), REDIRECT_URI);
        const confirm = await browser.navigate(link);
        await browser.submit(confirm, {}, '/link', REDIRECT_URI);
        const used = await new Browser().request(link);
        expect(used.body, app.name).to.include(expected);
      }
    });
  });

  describe('the engine\'s errors and pages', () => {
    async function engineError(app: AppJson, params: Record<string, string>, clientId = app.client_id) {
      const url = new URL(`${app.issuer}/auth`);
      for (const [k, v] of Object.entries({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT_URI, ...params })) url.searchParams.set(k, v);
      return new Browser().request(url.href);
    }

    const cases: [string, Record<string, string>, string | undefined, RegExp, string][] = [
      ['an unknown client', {}, 'no-such-client', /client is invalid|client not found/i, 'not set up to sign in with this service'],
      ['an unregistered redirect_uri', { redirect_uri: 'https://evil.example/cb' }, undefined, /redirect_uri did not match/i, 'an address it has not registered'],
      ['a redirect_uri with a fragment', { redirect_uri: `${REDIRECT_URI}#x` }, undefined, /redirect_uri did not match|fragment/i, 'an address it has not registered'],
    ];
    for (const [what, params, clientId, raw, human] of cases) {
      it(`turns ${what} into a human sentence with a way back; the engine's text only folded away for developers (outside production)`, async () => {
        const page = await engineError(branded, { ...params, ui_locales: 'en' }, clientId);
        expect(page.status).to.be.within(400, 499);
        const [person, developer] = page.body.split('<details class="hint">');
        expect(person).to.not.match(raw);
        expect(developer).to.match(raw).and.match(/^<summary>Details for the app&#39;s developer<\/summary>/);
        expect(page.body).to.include(human).and.include('quote reference');
        expect(page.body).to.include(`<a class="button" href="${BRANDING.client_uri}">Back to Acme Notes</a>`);
        expect(imgSrc(page)).to.include(LOGO_URI);
        const german = await engineError(branded, { ...params, ui_locales: 'de' }, clientId);
        expect(langOf(german)?.[0]).to.equal('de');
      });
    }

    it('turns a sign-in resumed in a browser that no longer holds it into "took too long", never the engine\'s text', async () => {
      const page = await new Browser({ 'accept-language': 'es' }).request(`${branded.issuer}/auth/${'u'.repeat(43)}`);
      expect(page.status).to.equal(400);
      expect(page.body.split('<details')[0]).to.not.match(/session|cookie not found/i);
      expect(page.body).to.include('Este inicio de sesión tardó demasiado o se terminó en otra pestaña.');
    });

    it('draws the engine\'s form_post answer as our page: same fields, its script, and a button that works without it', async () => {
      const { browser } = await h.signIn(branded, addr('form-post'));
      const { url } = await h.authorizationRequest(branded, { scope: 'openid', params: { response_mode: 'form_post', state: 'st<ate>"', ui_locales: 'fr' } });
      const page = await browser.navigate(url.href);
      expect(page.body).to.not.include('Submitting Callback').and.not.include('<noscript>');
      expect(page.body).to.include('<link rel="stylesheet" href="/assets/postern.css">').and.include('<button type="submit">Continuer</button>');
      const form = formOn(page);
      expect(form.action).to.equal(REDIRECT_URI);
      expect(form.fields.state).to.equal('st<ate>"');
      expect(form.fields.code).to.match(/^[A-Za-z0-9_-]+$/);
      expect(page.body).to.match(/<script>\s*document\.addEventListener\('DOMContentLoaded'/);
      expect(csp(page)).to.match(/script-src 'sha256-[^']+'/);
    });
  });
});
