// The pages outside production (src/dev/): the landing page at / and the development
// mailbox, as a developer uses them, and with hostile apps, filters and mail.
import { randomUUID } from 'node:crypto';
import { DEV_APPS_SHOWN, mailboxEntries } from '../../src/dev/mailbox-entries.ts';
import type { AuditQuery } from '../../src/storage/ports.ts';
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { adminOpenApi } from '../../src/admin/openapi.ts';
import { MAIL_HTML_POLICY } from '../../src/dev/dev-routes.ts';
import { Browser } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { raw } from '../security/support.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
const HTML = { accept: 'text/html' };

/** Parses a CSP header into directive → values. */
function csp(header: string | string[] | undefined): Map<string, string[]> {
  return new Map(
    String(header ?? '')
      .split(';')
      .map((part) => part.trim().split(/\s+/))
      .filter(([name]) => name)
      .map(([name, ...values]) => [name!, values]),
  );
}

/** A login at `app` in a new browser, the address typed in; resolves once the mail queue is done. */
async function askForLink(h: Harness, app: AppJson, email: string): Promise<void> {
  const browser = new Browser();
  const login = await h.startLogin(app, browser);
  const page = await browser.submit(login.page, { email });
  expect(page.body).to.include('Check your email');
  await h.server.mailQueue.idle();
  await h.server.audit.flushed();
}

/** The headings of the mailbox entries shown at `query`. */
async function entriesAt(h: Harness, query = ''): Promise<string[]> {
  const reply = await raw(h.url, `/dev/mailbox${query}`, { headers: HTML });
  expect(reply.status, reply.body.slice(0, 300)).to.equal(200);
  return [...reply.body.matchAll(/<li class="entry">[\s\S]*?<h2>([\s\S]*?)<\/h2>\s*<p class="hint">([\s\S]*?)<\/p>/g)].map((m) => `${m[1]} | ${m[2]!.split(' · ')[0]}`);
}

describe('development pages', function () {
  this.timeout(60_000);

  describe('the landing page', () => {
    const h = new Harness();
    let apps: AppJson[];
    before(async () => {
      await h.start({}, { devMailbox: true });
      apps = [await h.createApp({ name: 'Alpha' }), await h.createApp({ name: '<script>alert(1)</script> & "Co"' })];
    });
    after(() => h.stop());

    it('says what is running, lists the apps with working discovery links, and every admin route', async () => {
      const reply = await raw(h.url, '/', { headers: HTML });
      expect(reply.status).to.equal(200);
      expect(reply.headers['content-type']).to.match(/^text\/html/);
      for (const text of [`<dd>${VERSION}</dd>`, '<dd>test</dd>', `<code>${h.url}</code>`, '<dd>memory</dd>', 'none: mail is kept in the development mailbox', 'href="/dev/mailbox"']) {
        expect(reply.body, text).to.include(text);
      }
      for (const app of apps) {
        expect(reply.body).to.include(`<code>${app.issuer}</code>`);
        const discovery = `${app.issuer}/.well-known/openid-configuration`;
        expect(reply.body).to.include(`href="${discovery}"`);
        expect(((await (await fetch(discovery)).json()) as { issuer: string }).issuer).to.equal(app.issuer);
      }
      expect(reply.body).to.include('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Co&quot;');
      expect(reply.body).not.to.include('<script>alert');
      const listed = [...reply.body.matchAll(/<td class="mono">([A-Z]+)<\/td><td><code>([^<]+)<\/code><\/td>/g)].map((m) => `${m[1]} ${m[2]}`);
      const documented = Object.entries(adminOpenApi().paths).flatMap(([path, item]) =>
        Object.keys(item)
          .filter((key) => ['get', 'put', 'post', 'patch', 'delete'].includes(key))
          .map((method) => `${method.toUpperCase()} ${path}`),
      );
      expect(listed).to.deep.equal(documented);
      expect(listed).to.include('POST /admin/apps');
    });

    it('lists the oldest 100 apps however many there are, says there are more, and the mailbox reads no more apps than that', async () => {
      const template = (await h.stores.apps.get(apps[0]!.app_id))!;
      const copies = Array.from({ length: 150 }, (_, i) => ({ ...template, id: randomUUID(), name: `Copy ${i}`, createdAt: template.createdAt + 1 + i }));
      for (const copy of copies) await h.stores.apps.insert(copy);
      try {
        const reply = await raw(h.url, '/', { headers: HTML });
        expect(reply.status).to.equal(200);
        expect([...reply.body.matchAll(/openid-configuration">openid-configuration<\/a>/g)]).to.have.length(DEV_APPS_SHOWN);
        expect(reply.body).to.include('Alpha').and.include('The oldest 100 apps');
        expect(reply.body).not.to.include(`Copy ${copies.length - 1}<`);
        const asked: string[] = [];
        const audit = { ...h.server.audit, query: (appId: string, q: AuditQuery) => (asked.push(appId), h.server.audit.query(appId, q)) };
        await mailboxEntries({ apps: (limit) => h.stores.apps.page(limit), audit }, {});
        expect(new Set(asked).size).to.equal(DEV_APPS_SHOWN);
        asked.length = 0;
        await mailboxEntries({ apps: (limit) => h.stores.apps.page(limit), audit }, { appId: copies.at(-1)!.id });
        expect(new Set(asked)).to.deep.equal(new Set([copies.at(-1)!.id]));
      } finally {
        for (const copy of copies) await h.stores.apps.delete(copy.id, Date.now());
      }
    });

    it('has the hosted pages\' strict policy: no script at all, styles from this origin only', async () => {
      const reply = await raw(h.url, '/', { headers: HTML });
      const policy = csp(reply.headers['content-security-policy']);
      expect(policy.get('default-src')).to.deep.equal(["'none'"]);
      expect(policy.get('script-src')).to.deep.equal(["'none'"]);
      expect(policy.get('style-src')).to.deep.equal(["'self'"]);
      expect(policy.get('frame-ancestors')).to.deep.equal(["'none'"]);
      expect(reply.headers['cache-control']).to.equal('no-store');
      expect(reply.body).not.to.match(/<script|style=/);
      const css = await raw(h.url, '/dev/assets/dev.css');
      expect([css.status, css.headers['content-type']]).to.deep.equal([200, 'text/css; charset=utf-8']);
    });

    it('names the SMTP server by host and port only, never its credentials', async () => {
      const other = await new Harness().start({ SMTP_URL: 'smtp://postern:hunter2-secret@127.0.0.1:2525' });
      try {
        const reply = await raw(other.url, '/', { headers: HTML });
        expect(reply.body).to.include('<dd>SMTP at 127.0.0.1:2525</dd>');
        expect(reply.body).not.to.match(/hunter2|postern:/);
      } finally {
        await other.stop();
      }
    });
  });

  describe('the mailbox', () => {
    const h = new Harness();
    let alpha: AppJson;
    let beta: AppJson;
    before(async () => {
      await h.start({}, { devMailbox: true });
      alpha = await h.createApp({ name: 'Alpha', max_links_per_address: 1 });
      beta = await h.createApp({ name: 'Beta' });
      await askForLink(h, alpha, 'Ann@Example.com');
      await askForLink(h, alpha, 'ann@example.com'); // over Alpha's limit per address
      await askForLink(h, beta, 'bob@example.com');
    });
    after(() => h.stop());

    it('shows every app\'s mail and the refused request, newest first', async () => {
      expect(await entriesAt(h)).to.deep.equal([
        'Sign in to Beta | To bob@example.com',
        'Sign-in link refused: limit per address | To ann@example.com',
        'Sign in to Alpha | To ann@example.com',
      ]);
    });

    it('filters by app and by address, in any letter case, and both at once', async () => {
      expect(await entriesAt(h, `?app=${alpha.app_id}`)).to.deep.equal(['Sign-in link refused: limit per address | To ann@example.com', 'Sign in to Alpha | To ann@example.com']);
      expect(await entriesAt(h, `?to=BOB%40example`)).to.deep.equal(['Sign in to Beta | To bob@example.com']);
      expect(await entriesAt(h, `?to=%20ANN@Example.COM`)).to.have.length(2);
      expect(await entriesAt(h, `?app=${beta.app_id}&to=ann`)).to.deep.equal([]);
      expect((await raw(h.url, `/dev/mailbox?app=${beta.app_id}&to=ann`)).body).to.include('Nothing matches these filters.');
      // The form keeps the filters.
      const page = (await raw(h.url, `/dev/mailbox?app=${beta.app_id}&to=bob`)).body;
      expect(page).to.include(`<option value="${beta.app_id}" selected>Beta (${beta.app_id})</option>`);
      expect(page).to.include('value="bob"');
    });

    it('offers the sign-in link as a button and the HTML mail as its own sandboxed document', async () => {
      const page = (await raw(h.url, `/dev/mailbox?app=${beta.app_id}`)).body;
      const link = /<a class="button" href="([^"]+)">Open the sign-in link<\/a>/.exec(page)?.[1]?.replaceAll('&amp;', '&');
      expect(link).to.match(new RegExp(`^${beta.issuer}/interaction/[^/]+/link\\?code=`));
      expect(page).to.include(link!.replaceAll('&', '&amp;'));
      const mailPath = /<a href="(\/dev\/mailbox\/mail\/\d+)">View the HTML mail<\/a>/.exec(page)?.[1];
      const mail = await raw(h.url, mailPath!, { headers: HTML });
      expect(mail.status).to.equal(200);
      expect(mail.headers['content-security-policy']).to.equal(MAIL_HTML_POLICY);
      expect(csp(mail.headers['content-security-policy']).get('sandbox')).to.deep.equal([]);
      expect(mail.headers['cache-control']).to.equal('no-store');
      expect(mail.body).to.include('<h1').and.include(link!.replaceAll('&', '&amp;'));
      for (const missing of ['/dev/mailbox/mail/999999', '/dev/mailbox/mail/0', '/dev/mailbox/mail/01', '/dev/mailbox/mail/x', '/dev/mailbox/mail/1e3', '/dev/mailbox/mail/99999999999']) {
        const reply = await raw(h.url, missing, { headers: HTML });
        expect(reply.status, missing).to.equal(404);
        expect(csp(reply.headers['content-security-policy']).get('script-src'), missing).to.deep.equal(["'none'"]);
        expect(reply.body, missing).to.include('No such mail');
      }
    });

    it('treats its filters as hostile input: escaped, bounded, exact, never a 500', async () => {
      const cases: [query: string, status: number][] = [
        ['?to=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E', 200],
        ['?app=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E', 200],
        ['?to=%ff%fe', 200],
        ['?to=%00', 400],
        ['?to=a%1b%5B31m', 400],
        ['?app=x%0d%0ay', 400],
        ['?to=%', 200],
        ['?app[]=x&to[]=y', 200],
        ['?__proto__=x&constructor=y&toString=z', 200],
        ['?app=x&app=y', 400],
        ['?to=a&to=b', 400],
        [`?to=${'a'.repeat(255)}`, 400],
        [`?app=${'a'.repeat(101)}`, 400],
      ];
      for (const [query, status] of cases) {
        const page = await raw(h.url, `/dev/mailbox${query}`, { headers: HTML });
        expect(page.status, query).to.equal(status);
        expect(page.body, query).not.to.match(/<script>alert|"><script|\x1b/);
        if (status === 400) {
          expect(page.body, query).to.match(/<title>[^<]+<\/title>/).and.match(/filter &quot;(app|to)&quot;/);
          const json = await raw(h.url, `/dev/mailbox${query}`, { headers: { accept: 'application/json' } });
          expect([json.status, JSON.parse(json.body).error], query).to.deep.equal([400, 'invalid_request']);
        }
      }
      const echoed = (await raw(h.url, '/dev/mailbox?to=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E', { headers: HTML })).body;
      expect(echoed).to.include('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
      // An app id matches exactly: another case or another app's id shows none of its mail.
      expect(await entriesAt(h, `?app=${alpha.app_id.toUpperCase()}`)).to.deep.equal([]);
      expect(await entriesAt(h, `?app=${alpha.app_id}x`)).to.deep.equal([]);
    });

    it('allows its one inline script by hash, and the state it polls changes when something arrives', async () => {
      const page = await raw(h.url, '/dev/mailbox', { headers: HTML });
      const policy = csp(page.headers['content-security-policy']);
      const scripts = [...page.body.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`);
      expect(scripts).to.have.length(1);
      expect(policy.get('script-src')).to.deep.equal(scripts);
      expect(policy.get('connect-src')).to.deep.equal(["'self'"]);
      expect(policy.get('default-src')).to.deep.equal(["'none'"]);
      expect(page.headers['content-security-policy']).not.to.match(/unsafe-|\*|data:|http:|https:/);
      const state = () => raw(h.url, '/dev/mailbox/state').then((r) => (JSON.parse(r.body) as { state: string }).state);
      const before = await state();
      expect(page.body).to.include(`data-state="${before}"`);
      expect(await state()).to.equal(before);
      await askForLink(h, beta, 'carol@example.com');
      expect(await state()).not.to.equal(before);
    });
  });

  describe('the mailbox with SMTP_URL set', () => {
    it('shows the mail that could not be sent, and says where mail goes', async () => {
      const h = await new Harness().start();
      try {
        const app = await h.createApp({ name: 'Down' });
        h.smtp.rejectNext = 10;
        await askForLink(h, app, 'down@example.com');
        const page = await raw(h.url, '/dev/mailbox', { headers: HTML });
        expect(page.body).to.include('Mail goes to SMTP_URL');
        expect(await entriesAt(h)).to.deep.equal(['Sign-in mail not sent: smtp error after 3 attempts | To down@example.com']);
      } finally {
        await h.stop();
      }
    });
  });
});
