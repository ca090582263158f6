// The magic link itself: the mail, what the store keeps, scanners, reuse, expiry, tampering,
// other browsers, concurrency, and the hosted pages' headers and escaping. Real SMTP capture,
// openid-client as the app, Browser instances as people (each its own cookie jar).
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import type { MagicLinkRecord } from '../../src/storage/ports.ts';
import type { TtlMap } from '../../src/storage/memory/ttl-map.ts';
import { Browser, formOn, type Page } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { linkIn } from '../helpers/smtp-capture.ts';

const CODE = /^[A-Za-z0-9_-]{43,}$/;
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/** The magic-link records the memory store holds, as [key, record]. */
function linkRecords(h: Harness): [string, MagicLinkRecord][] {
  const store = h.stores.magicLinks as unknown as { records: TtlMap<MagicLinkRecord> };
  return [...store.records.entries()];
}

/** The login attempt (interaction uid) of a login form, from its action. */
function uidOf(loginPage: Page): string {
  const action = formOn(loginPage).action;
  const uid = /\/interaction\/([^/]+)\/email$/.exec(action)?.[1];
  if (!uid) throw new Error(`no interaction uid in form action ${action}`);
  return uid;
}

function codeOf(link: string): string {
  const code = new URL(link).searchParams.get('code');
  if (!code) throw new Error(`no code in ${link}`);
  return code;
}

/** Replaces the code in a link (the raw query value, not re-encoded). */
function withCode(link: string, code: string | undefined): string {
  const base = link.slice(0, link.indexOf('?'));
  return code === undefined ? base : `${base}?code=${code}`;
}

function expectHostedHeaders(page: Page, what: string) {
  expect(page.headers.get('content-type'), what).to.match(/^text\/html/);
  expect(page.headers.get('cache-control'), what).to.equal('no-store');
  expect(page.headers.get('x-content-type-options'), what).to.equal('nosniff');
  expect(page.headers.get('referrer-policy'), what).to.equal('no-referrer');
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp, what).to.match(/(?:^|;)\s*frame-ancestors 'none'\s*(?:;|$)/);
}

function expectNoRedirect(page: Page) {
  expect(page.headers.get('location')).to.equal(null);
}

/** A page that says the link is used / expired / not valid / for another browser. */
const TITLES = {
  used: 'This link was already used',
  expired: 'This link has expired',
  unknown: 'This link is not valid',
  other_browser: 'Open this link in the browser where you started',
} as const;

function expectProblem(page: Page, kind: keyof typeof TITLES, status: number) {
  expect(page.status, `${kind}: ${page.body.slice(0, 300)}`).to.equal(status);
  expect(page.body).to.include(`<h1>${TITLES[kind]}</h1>`);
  expectNoRedirect(page);
}

describe('magic links', () => {
  const h = new Harness();
  let app: AppJson;
  let n = 0;
  /** A fresh address per use, so mail waits never pick up another test's mail. */
  const addr = (tag: string) => `${tag}-${++n}@example.com`;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Acme Notes' });
  });
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  /** Starts a login in `browser` and requests a link for `email`. */
  async function requested(email: string, browser = new Browser(), forApp = app) {
    const login = await h.startLogin(forApp, browser);
    expect(login.page.status).to.equal(200);
    const uid = uidOf(login.page);
    const sent = await h.requestLink(browser, login.page, email);
    return { ...login, ...sent, browser, uid, code: codeOf(sent.link), loginPage: login.page };
  }

  /** Opens the link and presses the button in `browser`; returns the page reached. */
  async function complete(browser: Browser, link: string, redirectUri: string) {
    const confirm = await browser.navigate(link);
    expect(confirm.status, confirm.body.slice(0, 300)).to.equal(200);
    return browser.submit(confirm, {}, '/link', redirectUri);
  }

  function expectCallback(page: Page, login: { redirectUri: string; state: string }, forApp = app) {
    expect(page.url.startsWith(`${login.redirectUri}?`), `${page.status} ${page.url} ${page.body.slice(0, 300)}`).to.equal(true);
    const params = new URL(page.url).searchParams;
    expect(params.get('code')).to.be.a('string').and.not.equal('');
    expect(params.get('state')).to.equal(login.state);
    expect(params.get('iss')).to.equal(forApp.issuer);
  }

  describe('the mail', () => {
    it('goes to the normalized address with text and HTML parts, one absolute link and the expiry', async () => {
      const local = `Mixed.Case-${++n}`;
      const typed = `  ${local}@Example.COM `;
      const normalized = `${local.toLowerCase()}@example.com`;
      const r = await requested(typed);
      expect(r.page.status).to.equal(200);
      expect(r.mail.to).to.equal(normalized);
      expect(r.mail.subject).to.include('Acme Notes');
      expect(r.mail.text.trim()).to.not.equal('');
      expect(r.mail.html.trim()).to.not.equal('');

      const linkShape = new RegExp(
        `^${app.issuer.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}/interaction/${r.uid}/link\\?code=[A-Za-z0-9_-]{43,}&lang=en$`,
      );
      expect(r.link).to.match(linkShape);
      expect(r.link).to.match(/^https?:\/\//);

      const textLinks = r.mail.text.match(/https?:\/\/[^\s<>"']+/g) ?? [];
      expect(textLinks).to.deep.equal([r.link]);
      const htmlLinks = (r.mail.html.match(/https?:\/\/[^\s<>"']+/g) ?? []).map((u) => u.replace(/&amp;/g, '&'));
      expect(htmlLinks.length).to.be.at.least(1);
      expect([...new Set(htmlLinks)]).to.deep.equal([r.link]);
      expect(r.mail.html).to.include(`href="${r.link.replace(/&/g, '&amp;')}"`);

      expect(r.mail.text).to.include('valid for 15 minutes');
      expect(r.mail.html).to.include('valid for 15 minutes');
    });

    it('carries a code of at least 256 bits, and the store keeps only its SHA-256', async () => {
      const r = await requested(addr('hash'));
      expect(r.code).to.match(CODE);
      expect(Buffer.from(r.code, 'base64url').length).to.be.at.least(32);

      const records = linkRecords(h);
      expect(records.length).to.be.at.least(1);
      for (const [key, record] of records) {
        expect(key).to.not.include(r.code);
        expect(JSON.stringify(record)).to.not.include(r.code);
        for (const value of Object.values(record)) expect(String(value)).to.not.include(r.code);
      }
      const mine = records.filter(([, record]) => record.hash === sha256(r.code));
      expect(mine).to.have.length(1);
      const [key, record] = mine[0]!;
      expect(key).to.include(sha256(r.code));
      expect(record.appId).to.equal(app.app_id);
      expect(record.interactionUid).to.equal(r.uid);
      expect(record.email).to.equal(r.mail.to);
      expect(record.usedAt).to.equal(undefined);
    });

    it('codes differ between requests', async () => {
      const a = await requested(addr('distinct'));
      const b = await requested(addr('distinct'));
      expect(a.code).to.not.equal(b.code);
      // Random throughout, not a short random part padded to length.
      expect(a.code.slice(22)).to.not.equal(b.code.slice(22));
      expect(a.code.slice(0, 21)).to.not.equal(b.code.slice(0, 21));
    });
  });

  it('requesting a link creates no account; completing sign-in does', async () => {
    const email = addr('account');
    const r = await requested(email);
    expect(await h.stores.accounts.find(app.app_id, email)).to.equal(undefined);
    // Looking at the link creates nothing either.
    await r.browser.navigate(r.link);
    expect(await h.stores.accounts.find(app.app_id, email)).to.equal(undefined);
    const done = await complete(r.browser, r.link, r.redirectUri);
    expectCallback(done, r);
    const account = await h.stores.accounts.find(app.app_id, email);
    expect(account).to.not.equal(undefined);
    expect(account!.email).to.equal(email);
  });

  it('"check your email" is the same for an address that signed in before and one that never did', async () => {
    const known = addr('known');
    const unknown = addr('never');
    await h.signIn(app, known);
    expect(await h.stores.accounts.find(app.app_id, known)).to.not.equal(undefined);
    expect(await h.stores.accounts.find(app.app_id, unknown)).to.equal(undefined);

    // Both requests in the same login attempt, so the restart link is the same too.
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const first = await h.requestLink(browser, login.page, known);
    const form = await browser.navigate(new URL(`/apps/${app.app_id}/interaction/${uidOf(login.page)}`, h.url).href);
    const second = await h.requestLink(browser, form, unknown);

    expect(first.page.status).to.equal(200);
    expect(second.page.status).to.equal(first.page.status);
    expect(first.page.body).to.include(known);
    expect(second.page.body).to.include(unknown);
    const neutral = (body: string, email: string) =>
      body.split(email).join('EMAIL').replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value="X"');
    expect(neutral(second.page.body, unknown)).to.equal(neutral(first.page.body, known));
    expect(second.page.headers.get('content-type')).to.equal(first.page.headers.get('content-type'));
    expect(second.page.headers.get('content-length')).to.equal(
      String(Number(first.page.headers.get('content-length')) + unknown.length - known.length),
    );
  });

  describe('the email form', () => {
    it('rejects invalid addresses with 400, the form and a message, and sends no mail', async () => {
      const browser = new Browser();
      let { page } = await h.startLogin(app, browser);
      const uid = uidOf(page);
      const mailsBefore = h.smtp.mails.length;
      const linksBefore = linkRecords(h).length;
      const invalid = ['', 'not-an-email', 'a@b.c\r\nBcc: x@y.z', 'a@x.com,b@x.com', `${'a'.repeat(288)}@example.com`];
      expect(invalid[4]).to.have.length(300);
      for (const email of invalid) {
        page = await browser.submit(page, { email });
        expect(page.status, JSON.stringify(email)).to.equal(400);
        expect(page.body).to.include('<h1>Sign in</h1>');
        expect(page.body).to.match(/<p class="error"[^>]*role="alert">[^<]+<\/p>/);
        expect(page.body).to.match(/<input[^>]+name="email"/);
        expect(page.body).to.not.include('Check your email');
        expect(uidOf(page)).to.equal(uid);
        expectHostedHeaders(page, `invalid ${JSON.stringify(email)}`);
        expect(h.smtp.mails.length).to.equal(mailsBefore);
      }
      // Nothing sending or waiting to retry: a mail queued by any of these would be captured now.
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.length).to.equal(mailsBefore);
      expect(linkRecords(h).length).to.equal(linksBefore);

      // The form still works afterwards.
      const ok = await h.requestLink(browser, page, addr('after-invalid'));
      expect(ok.page.status).to.equal(200);
      expect(ok.page.body).to.include('Check your email');
    });

    it('answers a missing or wrong CSRF token with 403 and sends no mail', async () => {
      const browser = new Browser();
      const { page } = await h.startLogin(app, browser);
      const form = formOn(page);
      const action = new URL(form.action, page.url).href;
      expect(form.fields.csrf).to.match(/^[A-Za-z0-9_-]{43}$/);
      const email = addr('csrf');
      const mailsBefore = h.smtp.mails.length;

      // A valid token, but minted for another browser.
      const other = new Browser();
      const otherToken = formOn((await h.startLogin(app, other)).page).fields.csrf!;
      expect(otherToken).to.not.equal(form.fields.csrf);

      const attempts: Record<string, Record<string, string>> = {
        missing: { email },
        empty: { email, csrf: '' },
        wrong: { email, csrf: 'A'.repeat(43) },
        garbage: { email, csrf: '<x>' },
        'other browser': { email, csrf: otherToken },
        flipped: { email, csrf: (form.fields.csrf!.startsWith('A') ? 'B' : 'A') + form.fields.csrf!.slice(1) },
      };
      for (const [name, fields] of Object.entries(attempts)) {
        const res = await browser.request(action, { form: fields });
        expect(res.status, name).to.equal(403);
        expect(res.body, name).to.not.include('Check your email');
        expect(res.body, name).to.match(/<input[^>]+name="email"/);
        expectHostedHeaders(res, `csrf ${name}`);
      }
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.length).to.equal(mailsBefore);
      expect(h.smtp.mails.some((m) => m.to === email)).to.equal(false);

      // With its own token the same browser gets its mail.
      const ok = await h.requestLink(browser, page, email);
      expect(ok.page.status).to.equal(200);
    });
  });

  it('survives scanners: GET and HEAD any number of times, from any browser, leave the link usable', async () => {
    const r = await requested(addr('scanner'));
    const scanner = new Browser();
    for (let i = 0; i < 5; i++) {
      const mine = await r.browser.request(r.link);
      expect(mine.status).to.equal(200);
      expect(mine.body).to.include('<form');
      const head = await r.browser.request(r.link, { method: 'HEAD' });
      expect(head.status).to.equal(200);
      expect(head.body).to.equal('');
      const theirs = await scanner.request(r.link);
      expect(theirs.status).to.equal(403);
      const theirHead = await scanner.request(r.link, { method: 'HEAD' });
      expect(theirHead.status).to.equal(403);
      const bare = await fetch(r.link, { redirect: 'manual' });
      expect(bare.status).to.equal(403);
      await bare.text();
    }
    const record = linkRecords(h).find(([, rec]) => rec.hash === sha256(r.code))?.[1];
    expect(record?.usedAt).to.equal(undefined);
    expect(await h.stores.accounts.find(app.app_id, r.mail.to)).to.equal(undefined);

    const done = await complete(r.browser, r.link, r.redirectUri);
    expectCallback(done, r);
    const tokens = await oidc.authorizationCodeGrant(r.config, new URL(done.url), {
      pkceCodeVerifier: r.verifier,
      expectedState: r.state,
      expectedNonce: r.nonce,
    });
    expect(tokens.claims()?.sub).to.equal(r.mail.to);
  });

  it('a used link shows "already used" (410), and a second confirm POST is not a second login', async () => {
    const r = await requested(addr('reuse'));
    const confirm = await r.browser.navigate(r.link);
    expect(confirm.status).to.equal(200);
    const done = await r.browser.submit(confirm, {}, '/link', r.redirectUri);
    expectCallback(done, r);
    const account = await h.stores.accounts.find(app.app_id, r.mail.to);
    expect(account).to.not.equal(undefined);

    const again = await r.browser.navigate(r.link);
    expectProblem(again, 'used', 410);
    expectHostedHeaders(again, 'used page');
    expect(again.body).to.not.include('<form');

    const form = formOn(confirm, '/link');
    const repost = await r.browser.request(new URL(form.action, confirm.url).href, { form: form.fields });
    expectProblem(repost, 'used', 410);
    expect(await h.stores.accounts.find(app.app_id, r.mail.to)).to.deep.equal(account);

    // Also from another browser.
    expectProblem(await new Browser().navigate(r.link), 'used', 410);
  });

  describe('expiry', () => {
    it('a link opened 16 minutes after the mail shows "expired" (410), for GET and for the confirm POST', async () => {
      const r = await requested(addr('expired'));
      const confirm = await r.browser.navigate(r.link);
      expect(confirm.status).to.equal(200);
      h.clock.travel(16 * 60);
      const opened = await r.browser.navigate(r.link);
      expectProblem(opened, 'expired', 410);
      expectHostedHeaders(opened, 'expired page');
      expect(opened.body).to.not.include('name="code"');

      const form = formOn(confirm, '/link');
      const post = await r.browser.request(new URL(form.action, confirm.url).href, { form: form.fields });
      expectProblem(post, 'expired', 410);
      expect(await h.stores.accounts.find(app.app_id, r.mail.to)).to.equal(undefined);
    });

    it('honours the app\'s magic_link_ttl: 120 s links work at 100 s and expire after 121 s', async () => {
      const short = await h.createApp({ name: 'Short Links', magic_link_ttl: 120 });

      const ok = await requested(addr('ttl-ok'), new Browser(), short);
      expect(ok.mail.text).to.include('valid for 2 minutes');
      h.clock.travel(100);
      const done = await complete(ok.browser, ok.link, ok.redirectUri);
      expectCallback(done, ok, short);
      h.clock.reset();

      const late = await requested(addr('ttl-late'), new Browser(), short);
      h.clock.travel(121);
      expectProblem(await late.browser.navigate(late.link), 'expired', 410);
      expect(await h.stores.accounts.find(short.app_id, late.mail.to)).to.equal(undefined);
    });
  });

  it('unknown, tampered, garbage or missing codes show "not valid" (404), never a 500', async () => {
    const r = await requested(addr('tamper'));
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    const variants: Record<string, string | undefined> = {
      'first char changed': flip(r.code, 0),
      'middle char changed': flip(r.code, 20),
      'last char changed': flip(r.code, r.code.length - 1),
      'random 43': randomBytes(32).toString('base64url'),
      truncated: r.code.slice(0, -1),
      extended: `${r.code}A`,
      garbage: '!!!not-a-code!!!',
      'bad percent-encoding': '%ZZ%E0%A4%A',
      'nul byte': '%00',
      markup: '%3Cscript%3Ealert(1)%3C%2Fscript%3E',
      long: 'A'.repeat(4000),
      empty: '',
      'repeated param': `${r.code}&code=${r.code}`,
      missing: undefined,
    };
    for (const [name, code] of Object.entries(variants)) {
      const url = withCode(r.link, code);
      const page = await r.browser.navigate(url);
      expect(page.status, `${name}: ${page.body.slice(0, 300)}`).to.equal(404);
      expect(page.body, name).to.include(`<h1>${TITLES.unknown}</h1>`);
      expect(page.body, name).to.not.include('<script>');
      expectHostedHeaders(page, `unknown code: ${name}`);
      const head = await r.browser.request(url, { method: 'HEAD' });
      expect(head.status, `HEAD ${name}`).to.equal(404);
      const stranger = await new Browser().navigate(url);
      expect(stranger.status, `other browser ${name}`).to.equal(404);
    }

    // The confirm POST with a valid CSRF token but a wrong code is refused too.
    const confirm = await r.browser.navigate(r.link);
    const form = formOn(confirm, '/link');
    const action = new URL(form.action, confirm.url).href;
    for (const code of [flip(r.code, 5), randomBytes(32).toString('base64url'), 'garbage', '']) {
      const post = await r.browser.request(action, { form: { ...form.fields, code } });
      expectProblem(post, 'unknown', 404);
    }
    const noCode = await r.browser.request(action, { form: { csrf: form.fields.csrf! } });
    expectProblem(noCode, 'unknown', 404);

    // None of that used up the real link.
    const done = await r.browser.submit(confirm, {}, '/link', r.redirectUri);
    expectCallback(done, r);
  });

  it('in another browser: says to open it where you started (403), offers no form, and does not consume the code', async () => {
    const r = await requested(addr('elsewhere'));
    const other = new Browser();
    const there = await other.navigate(r.link);
    expectProblem(there, 'other_browser', 403);
    expectHostedHeaders(there, 'other-browser page');
    expect(there.body).to.not.match(/<form/i);
    expect(there.body).to.not.include('name="code"');
    expect(there.body).to.not.include(r.code);

    // The original browser's confirm page, for its form action.
    const confirm = await r.browser.navigate(r.link);
    const form = formOn(confirm, '/link');
    const action = new URL(form.action, confirm.url).href;

    // POST from the other browser: without a token, with the victim's token (stolen), and with
    // a token it minted itself on its own login page of the same app.
    const own = await h.startLogin(app, other);
    const ownToken = formOn(own.page).fields.csrf!;
    const posts: Record<string, string>[] = [{ code: r.code }, { code: r.code, csrf: form.fields.csrf! }, { code: r.code, csrf: ownToken }];
    for (const fields of posts) {
      const post = await other.request(action, { form: fields });
      expectProblem(post, 'other_browser', 403);
      expect(post.body).to.not.match(/<form/i);
    }
    // Even with its own login attempt in progress, GET still says "other browser".
    expectProblem(await other.navigate(r.link), 'other_browser', 403);

    const record = linkRecords(h).find(([, rec]) => rec.hash === sha256(r.code))?.[1];
    expect(record?.usedAt).to.equal(undefined);
    expect(await h.stores.accounts.find(app.app_id, r.mail.to)).to.equal(undefined);

    const done = await r.browser.submit(confirm, {}, '/link', r.redirectUri);
    expectCallback(done, r);
  });

  it('the confirm POST without the CSRF token of the page is refused (403) and leaves the link usable', async () => {
    const r = await requested(addr('link-csrf'));
    const confirm = await r.browser.navigate(r.link);
    const form = formOn(confirm, '/link');
    const action = new URL(form.action, confirm.url).href;
    const posts: Record<string, string>[] = [{ code: r.code }, { code: r.code, csrf: 'A'.repeat(43) }];
    for (const fields of posts) {
      const post = await r.browser.request(action, { form: fields });
      expect(post.status).to.equal(403);
      expectNoRedirect(post);
    }
    const done = await r.browser.submit(confirm, {}, '/link', r.redirectUri);
    expectCallback(done, r);
  });

  it("a link of attempt A inside attempt B's URL is not valid, and neither link is harmed", async () => {
    const a = await requested(addr('attempt-a'));
    const b = await requested(addr('attempt-b'));
    expect(a.uid).to.not.equal(b.uid);
    const swapped = a.link.replace(`/interaction/${a.uid}/`, `/interaction/${b.uid}/`);
    expect(swapped).to.not.equal(a.link);

    expectProblem(await b.browser.navigate(swapped), 'unknown', 404);
    expectProblem(await a.browser.navigate(swapped), 'unknown', 404);

    // B's own confirm form (valid CSRF for B), carrying A's code.
    const confirmB = await b.browser.navigate(b.link);
    const formB = formOn(confirmB, '/link');
    const post = await b.browser.request(new URL(formB.action, confirmB.url).href, { form: { ...formB.fields, code: a.code } });
    expectProblem(post, 'unknown', 404);

    expectCallback(await complete(a.browser, a.link, a.redirectUri), a);
    expectCallback(await b.browser.submit(confirmB, {}, '/link', b.redirectUri), b);
  });

  it('20 parallel confirm POSTs: exactly one signs in, the others see "already used"', async () => {
    const r = await requested(addr('race'));
    const confirm = await r.browser.navigate(r.link);
    const form = formOn(confirm, '/link');
    const action = new URL(form.action, confirm.url).href;
    const results = await Promise.all(Array.from({ length: 20 }, () => r.browser.request(action, { form: form.fields })));

    const winners = results.filter((p) => p.status === 303);
    expect(winners, results.map((p) => p.status).join(',')).to.have.length(1);
    for (const loser of results.filter((p) => p.status !== 303)) expectProblem(loser, 'used', 410);

    const location = winners[0]!.headers.get('location');
    expect(location).to.be.a('string');
    const landed = await r.browser.navigate(new URL(location!, action).href, {}, r.redirectUri);
    expectCallback(landed, r);
  });

  describe('the email form posted again (a double click, a reload, Back and submit)', () => {
    /** The link records of one attempt in the store: one per link ever issued for it. */
    const linksOf = (uid: string) => linkRecords(h).filter(([, r]) => r.interactionUid === uid);
    const events = async (forApp: AppJson, email: string) => {
      await h.server.audit.flushed();
      return (await h.server.audit.query(forApp.app_id, { email, limit: 50 })).map((e) => e.type);
    };

    it('within a minute, for the same address: the same page, no second mail or link, no limit spent, and the first link works', async () => {
      // One link per address per window: a second mail would have been refused (and audited) as over the limit.
      const strict = await h.createApp({ name: 'Strict', max_links_per_address: 1 });
      const email = addr('twice');
      const r = await requested(email, new Browser(), strict);
      const mailsBefore = h.smtp.mails.length;
      const again = await r.browser.submit(r.loginPage, { email });
      expect(again.status).to.equal(200);
      expect(again.body).to.equal(r.page.body); // the same page, word for word
      h.clock.travel(30);
      const third = await r.browser.submit(r.loginPage, { email });
      expect(third.status).to.equal(200);
      expect(third.body).to.include('Check your email');
      expect(linksOf(r.uid)).to.have.length(1);
      expect(await events(strict, email)).to.have.members(['link.requested', 'mail.sent', 'link.repeated', 'link.repeated']);
      expect(h.smtp.mails.slice(mailsBefore).filter((m) => m.to === email)).to.deep.equal([]);
      expectCallback(await complete(r.browser, r.link, r.redirectUri), r, strict);
    });

    it('sends a new link once a minute has passed, once the link was touched, or for another address', async () => {
      const email = addr('later');
      const r = await requested(email);
      h.clock.travel(61);
      const later = await h.requestLink(r.browser, r.loginPage, email);
      expect(later.link).to.not.equal(r.link);

      // A wrong short code touched the latest link: the form sends a fresh one at once.
      const wrong = await r.browser.submit(later.page, { code: 'ZZZZ-ZZZZ' }, '/code');
      expect(wrong.status).to.equal(400);
      const afterWrong = await h.requestLink(r.browser, r.loginPage, email);
      expect(afterWrong.link).to.not.equal(later.link);

      // A typo corrected: another address right away.
      const corrected = addr('corrected');
      const other = await h.requestLink(r.browser, r.loginPage, corrected);
      expect(other.mail.to).to.equal(corrected);
      expect(linksOf(r.uid)).to.have.length(4);
      expectCallback(await complete(r.browser, other.link, r.redirectUri), r);
    });

    it('"send me a new link" always sends one, even right after the first', async () => {
      const email = addr('resend-now');
      const r = await requested(email);
      const since = h.smtp.mails.length;
      const resent = await r.browser.submit(r.page, {}, '/resend');
      expect(resent.status).to.equal(200);
      const mail = await h.smtp.next(email, since);
      expect(linkIn(mail)).to.not.equal(r.link);
    });
  });

  it('the "check your email" page links back to the form of the same attempt, and a new link works', async () => {
    const r = await requested(addr('restart-1'));
    expect(r.page.body).to.include('Check your email');
    expectHostedHeaders(r.page, 'check-email page');
    const hrefs = [...r.page.body.matchAll(/<a[^>]+href="([^"]+)"/g)].map((m) => m[1]!);
    const restart = hrefs.find((href) => href.includes('/interaction/'));
    expect(restart).to.equal(`/apps/${app.app_id}/interaction/${r.uid}`);

    const form = await r.browser.navigate(new URL(restart!, r.page.url).href);
    expect(form.status).to.equal(200);
    expect(uidOf(form)).to.equal(r.uid);
    expect(form.body).to.match(/<input[^>]+name="email"/);

    const second = addr('restart-2');
    const again = await h.requestLink(r.browser, form, second);
    expect(again.page.status).to.equal(200);
    expect(again.mail.to).to.equal(second);
    expect(again.link).to.include(`/interaction/${r.uid}/link?code=`);
    expect(again.link).to.not.equal(r.link);

    const done = await complete(r.browser, again.link, r.redirectUri);
    expectCallback(done, r);
    const tokens = await oidc.authorizationCodeGrant(r.config, new URL(done.url), {
      pkceCodeVerifier: r.verifier,
      expectedState: r.state,
      expectedNonce: r.nonce,
    });
    expect(tokens.claims()?.sub).to.equal(second);
  });

  it('every hosted page sends no-store, nosniff, no-referrer and a CSP with frame-ancestors none', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const pages: [string, Page][] = [['login form', login.page]];
    pages.push(['invalid email', await browser.submit(login.page, { email: 'nope' })]);
    const form = formOn(login.page);
    pages.push(['csrf failure', await browser.request(new URL(form.action, login.page.url).href, { form: { email: 'x@example.com' } })]);
    const sent = await h.requestLink(browser, login.page, addr('headers'));
    pages.push(['check email', sent.page]);
    const confirm = await browser.navigate(sent.link);
    pages.push(['confirm', confirm]);
    pages.push(['confirm HEAD', await browser.request(sent.link, { method: 'HEAD' })]);
    pages.push(['other browser', await new Browser().navigate(sent.link)]);
    pages.push(['unknown code', await browser.navigate(withCode(sent.link, randomBytes(32).toString('base64url')))]);
    const confirmForm = formOn(confirm, '/link');
    pages.push(['confirm csrf failure', await browser.request(new URL(confirmForm.action, confirm.url).href, { form: { code: codeOf(sent.link) } })]);
    const done = await browser.submit(confirm, {}, '/link', login.redirectUri);
    expectCallback(done, login);
    pages.push(['used', await browser.navigate(sent.link)]);
    pages.push(['attempt gone', await browser.navigate(new URL(`/apps/${app.app_id}/interaction/${uidOf(login.page)}`, h.url).href)]);

    const expectedStatus: Record<string, number> = {
      'login form': 200,
      'invalid email': 400,
      'csrf failure': 403,
      'check email': 200,
      confirm: 200,
      'confirm HEAD': 200,
      'other browser': 403,
      'unknown code': 404,
      'confirm csrf failure': 403,
      used: 410,
      'attempt gone': 400,
    };
    for (const [name, page] of pages) {
      expect(page.status, name).to.equal(expectedStatus[name]);
      expectHostedHeaders(page, name);
    }
  });

  it('escapes the app name on every hosted page and in the mail', async () => {
    const name = '<script>alert(1)</script> & "Co"';
    const evil = await h.createApp({ name });
    const escaped = '&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;';
    const r = await requested(addr('escape'), new Browser(), evil);
    const confirm = await r.browser.navigate(r.link);
    const problem = await r.browser.navigate(withCode(r.link, 'x'));
    for (const [what, page] of [['login', r.loginPage], ['check email', r.page], ['confirm', confirm], ['not valid', problem]] as const) {
      expect(page.body, what).to.include(escaped);
      expect(page.body, what).to.not.include('<script');
      expect(page.body, what).to.not.include(name);
    }
    expect(r.mail.subject).to.include(name);
    expect(r.mail.html).to.include(escaped);
    expect(r.mail.html).to.not.include('<script');
  });
});

describe('two sign-in attempts in one browser', () => {
  const h = new Harness();
  before(() => h.start());
  after(() => h.stop());

  it('keeps the first attempt and its link working after a second attempt starts', async () => {
    const app = await h.createApp();
    const browser = new Browser();
    const first = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, first.page, 'two-tabs@example.com');
    const second = await h.startLogin(app, browser); // e.g. "Sign in" clicked again in another tab
    expect(second.page.body).to.include('name="email"');
    const confirm = await browser.navigate(link);
    expect(confirm.status).to.equal(200);
    const callback = await browser.submit(confirm, {}, '/link', first.redirectUri);
    expect(new URL(callback.url).searchParams.get('state')).to.equal(first.state);
  });
});
