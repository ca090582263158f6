// Links that survive the real world: the short code for another device, one-click new
// links that continue the original login attempt, a newer link superseding an older one,
// and a page of its own for each problem.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { shortCodeIn, type CapturedMail } from '../helpers/smtp-capture.ts';

describe('links that survive the real world', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start();
    app = await h.createApp({ name: 'Laptop App' });
  });
  after(() => h.stop());
  afterEach(() => h.clock.reset());

  it('mails the link, its expiry and a short code, in both parts', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { mail } = await h.requestLink(browser, login.page, 'parts@example.com');
    const code = shortCodeIn(mail);
    expect(code).to.match(/^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/);
    expect(mail.html).to.include(code!);
    // A duration, not a clock time in a zone the reader may not live in.
    expect(mail.text).to.include('valid for 15 minutes.').and.not.match(/GMT|UTC/);
    expect(mail.html).to.include('valid for 15 minutes.');
  });

  it('signs in on the laptop with the code read on a phone; the phone is not signed in', async () => {
    const laptop = new Browser();
    const phone = new Browser();
    const login = await h.startLogin(app, laptop);
    const { page, mail, link } = await h.requestLink(laptop, login.page, 'phone@example.com');

    const onPhone = await phone.navigate(link);
    expect(onPhone.status).to.equal(403);
    expect(onPhone.body).to.include('Open this link in the browser where you started');
    expect(onPhone.body).to.include(shortCodeIn(mail)); // shows how to continue
    expect(onPhone.body).not.to.include('name="code"');
    expect(phone.cookies.some((c) => c.name.startsWith('_session'))).to.equal(false);

    const done = await laptop.submit(page, { code: shortCodeIn(mail).toLowerCase().replace('-', ' ') }, '/code', login.redirectUri);
    expect(done.url.startsWith(login.redirectUri)).to.equal(true);
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(done.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(tokens.claims()?.email).to.equal('phone@example.com');
    // The link of that mail is now used up too.
    expect((await laptop.navigate(link)).status).to.equal(410);
  });

  it('counts nothing that cannot be a code: an empty field or a pasted link spends no attempt', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { page, mail } = await h.requestLink(browser, login.page, 'slip@example.com');
    for (const typed of ['', '   ', 'ABCD-EFG', 'https://example.com/', '-', 'ABCD-EFGH-I']) {
      const answer = await browser.submit(page, { code: typed }, '/code');
      expect(answer.status, typed).to.equal(400);
      expect(answer.body, typed).to.include('A code has eight letters and digits').and.not.match(/attempts? left/);
    }
    // All five attempts are left for a real guess, and then the right code.
    const wrong = await browser.submit(page, { code: 'ZZZZ-ZZZZ' }, '/code');
    expect(wrong.body).to.include('4 attempts left');
    const done = await browser.submit(page, { code: shortCodeIn(mail) }, '/code', login.redirectUri);
    expect(done.url.startsWith(login.redirectUri)).to.equal(true);
  });

  // A link signs in its login attempt, which ends an hour after the sign-in page opened
  // (longer with long links): one asked for late lives only until then, and says so. The
  // engine stamps an attempt's end by Date.now, so time moves for the whole process here
  // (the engine, the test clock and the store's expiry alike), as if the minutes passed.
  describe('a link asked for late in the attempt', () => {
    const realNow = Date.now;
    let passed = 0;
    const later = (seconds: number) => {
      passed += seconds * 1000;
      Date.now = () => realNow() + passed;
    };
    afterEach(() => {
      Date.now = realNow;
      passed = 0;
    });
    const stated = (mail: CapturedMail) => /valid for ([^.]+)\./.exec(mail.text)?.[1];

    it('lives until the attempt ends, as its mail and the page say, and works until then in the browser that asked', async () => {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      later(50 * 60); // the sign-in page was left open
      const { page, mail, link } = await h.requestLink(browser, login.page, 'left-open@example.com');
      // Ten minutes of the attempt are left, less the moments the test took: nine whole ones.
      expect(stated(mail)).to.equal('9 minutes');
      expect(page.body).to.include('for 9 minutes');
      later(8 * 60 + 50);
      const done = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
      expect(done.url.startsWith(login.redirectUri)).to.equal(true);
    });

    it('is cut to the attempt for "Send me a new link" and for links of a day alike', async () => {
      const long = await h.createApp({ name: 'Long Links', magic_link_ttl: 86400 });
      const browser = new Browser();
      const login = await h.startLogin(long, browser);
      later(20 * 60);
      const first = await h.requestLink(browser, login.page, 'day-long@example.com');
      expect(stated(first.mail)).to.equal('23 hours, 49 minutes');
      later(60 * 60);
      const since = h.smtp.mails.length;
      const again = await browser.submit(first.page, {}, '/resend');
      expect(again.body).to.include('for 22 hours, 49 minutes');
      const mail = await h.smtp.next('day-long@example.com', since);
      expect(stated(mail)).to.equal('22 hours, 49 minutes');
      // Refused once the attempt, and so the link, has ended: never as "another browser".
      later(23 * 60 * 60);
      const link = /https?:\/\/\S+\/link\?code=\S+/.exec(mail.text)![0];
      const opened = await browser.navigate(link);
      expect(opened.status).to.not.equal(403);
      expect(opened.body).to.not.include('Open this link in the browser where you started');
    });

    it('is not sent when less than a minute of the attempt is left: the page says the attempt has ended', async () => {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      later(59 * 60 + 10);
      const since = h.smtp.mails.length;
      const answer = await browser.submit(login.page, { email: 'too-late@example.com' }, '/email');
      expect(answer.body).to.include('This sign-in attempt has ended');
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(h.smtp.mails.length).to.equal(since);
    });

    it('is not cut by a clock moved for Postern alone: the attempt\'s time is the engine\'s', async () => {
      h.clock.travel(3 * 24 * 60 * 60); // as expiry tests move the server's clock before a sign-in
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { mail } = await h.requestLink(browser, login.page, 'moved-clock@example.com');
      expect(stated(mail)).to.equal('15 minutes');
    });
  });

  it('sends a new link in one click; the newer link supersedes the older', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const first = await h.requestLink(browser, login.page, 'resend@example.com');
    const since = h.smtp.mails.length;
    const again = await browser.submit(first.page, {}, '/resend');
    expect(again.body).to.include('Check your email');
    const second = await h.smtp.next('resend@example.com', since);
    const secondLink = /https?:\/\/\S+\/link\?code=[A-Za-z0-9_-]+/.exec(second.text)![0];
    expect(secondLink).not.to.equal(first.link);

    const old = await browser.navigate(first.link);
    expect(old.status).to.equal(410);
    expect(old.body).to.include('A newer link was sent');
    expect(old.body).to.include('/resend'); // one click from here too

    const confirm = await browser.navigate(secondLink);
    const done = await browser.submit(confirm, {}, '/link', login.redirectUri);
    expect(new URL(done.url).searchParams.get('state')).to.equal(login.state); // same attempt
  });

  it('offers a one-click new link on the expired page that continues the original login', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'late@example.com');
    h.clock.travel(16 * 60);
    const expired = await browser.navigate(link);
    expect(expired.status).to.equal(410);
    expect(expired.body).to.include('This link has expired');
    const since = h.smtp.mails.length;
    const sent = await browser.submit(expired, {}, '/resend');
    expect(sent.body).to.include('late@example.com'); // the address was not typed again
    const fresh = await h.smtp.next('late@example.com', since);
    const freshLink = /https?:\/\/\S+\/link\?code=[A-Za-z0-9_-]+/.exec(fresh.text)![0];
    const done = await browser.submit(await browser.navigate(freshLink), {}, '/link', login.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(login.config, new URL(done.url), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
    });
    expect(tokens.claims()?.sub).to.equal('late@example.com');
  });

  it('offers no new link to a browser that did not start the login', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'stranger@example.com');
    h.clock.travel(16 * 60);
    const elsewhere = await new Browser().navigate(link);
    expect(elsewhere.status).to.equal(410);
    expect(elsewhere.body).not.to.include('/resend');
  });

  it('never changes state on GET or HEAD of a link', async () => {
    const browser = new Browser();
    const login = await h.startLogin(app, browser);
    const { link } = await h.requestLink(browser, login.page, 'scanner@example.com');
    for (let i = 0; i < 3; i++) {
      expect((await fetch(link, { method: 'HEAD' })).status).to.be.oneOf([200, 403]);
      expect((await fetch(link)).status).to.equal(403); // a scanner has no cookies
    }
    const done = await browser.submit(await browser.navigate(link), {}, '/link', login.redirectUri);
    expect(done.url.startsWith(login.redirectUri)).to.equal(true);
  });
});
