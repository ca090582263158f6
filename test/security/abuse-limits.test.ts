// Abuse limits, checked before any mail is sent: per address, per client IP and per app
// for link requests; per login attempt and per IP for wrong codes; per IP for failed
// admin authentication. A limited link request looks exactly like any other.
import { expect } from 'chai';
import { Browser, type Page } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, type AppJson } from '../helpers/harness.ts';

const audits = (h: Harness) =>
  h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit').map((l) => l.audit as Record<string, unknown>);

/** Submits the email form of a fresh login attempt, optionally from a given client IP. */
async function ask(h: Harness, app: AppJson, email: string, ip?: string): Promise<Page> {
  const browser = new Browser();
  const { page } = await h.startLogin(app, browser);
  const form = /<form[^>]*action="([^"]*)"[\s\S]*?name="csrf" value="([^"]*)"/.exec(page.body)!;
  return browser.request(new URL(form[1]!, page.url).href, {
    form: { csrf: form[2]!, email },
    ...(ip ? { headers: { 'x-forwarded-for': ip } } : {}),
  });
}

/** The page with what differs per request anyway (CSRF tokens, the attempt id) blanked. */
const normalize = (body: string) =>
  body.replace(/name="csrf" value="[^"]*"/g, 'name="csrf" value=""').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID');

describe('abuse limits', function () {
  this.timeout(60_000);

  describe('link requests', () => {
    const h = new Harness();
    before(() => h.start({ TRUST_PROXY: 'true' }));
    after(() => h.stop());

    it('sends at most 5 links per address per 15 minutes by default, and the 6th looks the same', async () => {
      const app = await h.createApp();
      const pages: Page[] = [];
      for (let i = 0; i < 6; i++) pages.push(await ask(h, app, 'bombed@example.com', `10.0.0.${i + 1}`));
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => m.to === 'bombed@example.com')).to.have.length(5);
      const [first, last] = [pages[0]!, pages[5]!];
      expect(last.status).to.equal(first.status);
      expect(normalize(last.body)).to.equal(normalize(first.body));
      const limited = audits(h).filter((e) => e.type === 'link.rate_limited');
      expect(limited).to.have.length(1);
      expect(limited[0]).to.include({ app_id: app.app_id, email: 'bombed@example.com', reason: 'limit per address' });
    });

    it('limits links per client IP, across addresses, with the per-app setting', async () => {
      const app = await h.createApp({ max_links_per_ip: 3 });
      for (let i = 0; i < 4; i++) await ask(h, app, `ip-${i}@example.com`, '192.0.2.7');
      await ask(h, app, 'other-ip@example.com', '192.0.2.8');
      await h.server.mailQueue.idle();
      const to = h.smtp.mails.map((m) => m.to);
      expect(to).to.include.members(['ip-0@example.com', 'ip-1@example.com', 'ip-2@example.com', 'other-ip@example.com']);
      expect(to).not.to.include('ip-3@example.com');
    });

    it('caps the links of a whole app, and a PATCH changes the cap at once', async () => {
      const app = await h.createApp({ max_links_per_app: 2 });
      for (let i = 0; i < 3; i++) await ask(h, app, `app-cap-${i}@example.com`, `198.51.100.${i + 1}`);
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.filter((m) => m.to.startsWith('app-cap-'))).to.have.length(2);
      expect((await h.admin('PATCH', `/admin/apps/${app.app_id}`, { max_links_per_app: 10 })).status).to.equal(200);
      await ask(h, app, 'app-cap-late@example.com', '198.51.100.9');
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.map((m) => m.to)).to.include('app-cap-late@example.com');
    });

    it('rejects limits out of range', async () => {
      const res = await h.admin('POST', '/admin/apps', { name: 'x', redirect_uris: ['https://a.example/cb'], max_links_per_address: 0 });
      expect(res.status).to.equal(400);
      expect(res.body.error_description).to.include('max_links_per_address');
    });

    it('counts the client IP only from X-Forwarded-For when TRUST_PROXY is on', async () => {
      const untrusted = await new Harness().start();
      try {
        const app = await untrusted.createApp({ max_links_per_ip: 2 });
        // Spoofed X-Forwarded-For values do not create fresh budgets without TRUST_PROXY.
        for (let i = 0; i < 3; i++) await ask(untrusted, app, `spoof-${i}@example.com`, `203.0.113.${i + 1}`);
        await untrusted.server.mailQueue.idle();
        expect(untrusted.smtp.mails).to.have.length(2);
      } finally {
        await untrusted.stop();
      }
    });
  });

  describe('wrong codes', () => {
    const h = new Harness();
    before(() => h.start());
    after(() => h.stop());

    it('locks a link after 5 wrong short codes; even the right code then fails', async () => {
      const app = await h.createApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { page, mail } = await h.requestLink(browser, login.page, 'guess@example.com');
      const right = /code on the sign-in page instead: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(mail.text)![1]!;
      let current = page;
      for (let i = 0; i < 4; i++) {
        current = await browser.submit(current, { code: 'AAAA-AAAA' }, '/code');
        expect(current.status).to.equal(400);
        expect(current.body).to.include(`${4 - i} attempt`);
      }
      const locked = await browser.submit(current, { code: 'AAAA-AAAA' }, '/code');
      expect(locked.status).to.equal(410);
      expect(locked.body).to.include('Too many wrong codes');
      const after = await browser.submit(locked, {}, '/resend'); // one click: a new link
      expect(after.body).to.include('Check your email');
      const stale = await browser.submit(after, { code: right }, '/code');
      expect(stale.status).to.equal(400); // the old code belongs to the superseded link
    });

    it('limits wrong codes per IP across login attempts', async () => {
      const app = await h.createApp({ max_links_per_ip: 1000 });
      let refused: Page | undefined;
      for (let attempt = 0; attempt < 8 && !refused; attempt++) {
        const browser = new Browser();
        const login = await h.startLogin(app, browser);
        let page = (await h.requestLink(browser, login.page, `wrong-${attempt}@example.com`)).page;
        for (let i = 0; i < 4; i++) {
          page = await browser.submit(page, { code: 'BBBB-BBBB' }, '/code');
          if (page.status === 429) {
            refused = page;
            break;
          }
        }
      }
      expect(refused, 'a 429 after 30 wrong codes from one IP').not.to.equal(undefined);
      expect(refused!.body).to.include('Too many attempts');
    });
  });

  describe('admin authentication', () => {
    it('locks an IP out after 20 failed admin authentications, even with the right token', async () => {
      const h = await new Harness().start();
      try {
        for (let i = 0; i < 20; i++) expect((await h.admin('GET', '/admin/apps', undefined, `wrong-token-${i}`)).status).to.equal(401);
        const locked = await h.admin('GET', '/admin/apps', undefined, 'wrong-token-x');
        expect(locked.status).to.equal(429);
        expect(locked.body.error).to.equal('too_many_requests');
        expect(locked.headers.get('retry-after')).to.equal('900');
        expect((await h.admin('GET', '/admin/apps', undefined, ADMIN_TOKEN)).status).to.equal(429);
      } finally {
        await h.stop();
      }
    });
  });
});
