// Host pinning: links in mail, issuers, endpoint URLs and redirects come from PUBLIC_URL
// only. Host, X-Forwarded-Host, X-Forwarded-Proto, Forwarded and absolute request targets
// change nothing. X-Forwarded-For counts only with TRUST_PROXY=true, and then only the
// entry the proxy added (the last one).
import { expect } from 'chai';
import { Browser } from '../helpers/browser.ts';
import { Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { audits, interceptFetch, raw, type Recorded } from './support.ts';

const EVIL = {
  host: 'evil.example',
  'x-forwarded-host': 'evil.example',
  'x-forwarded-proto': 'https',
  'x-forwarded-port': '8443',
  forwarded: 'for=192.0.2.66;host=evil.example;proto=https',
};

describe('host pinning', function () {
  this.timeout(60_000);

  describe('with hostile Host and forwarding headers on every request', () => {
    const h = new Harness();
    let app: AppJson;
    before(async () => {
      await h.start();
      app = await h.createApp({ post_logout_redirect_uris: ['http://localhost:8080/bye'] });
    });
    after(() => h.stop());

    it('builds discovery, links in mail, redirects and the logout form from PUBLIC_URL only, through a whole sign-in and sign-out', async () => {
      const publicUrl = h.url; // the harness's PUBLIC_URL
      const record: Recorded[] = [];
      const restore = interceptFetch({ record, extraHeaders: EVIL });
      let mailLink: string;
      try {
        // Discovery, the sign-in (every browser request and every client call), the mail.
        const signedIn = await h.signIn(app, 'pinned@example.com');
        mailLink = signedIn.link;
        const issuer = signedIn.config.serverMetadata();
        expect(issuer.issuer).to.equal(`${publicUrl}/apps/${app.app_id}`);
        for (const [key, value] of Object.entries(issuer)) {
          if (typeof value === 'string' && /^https?:/.test(value)) expect(value.startsWith(`${publicUrl}/apps/${app.app_id}`), `${key}: ${value}`).to.equal(true);
        }
        // RP-initiated logout: the confirm form and the redirect after it.
        const end = await signedIn.browser.navigate(
          `${publicUrl}/apps/${app.app_id}/session/end?id_token_hint=${signedIn.tokens.id_token}&post_logout_redirect_uri=${encodeURIComponent('http://localhost:8080/bye')}`,
        );
        expect(end.status).to.equal(200);
        expect(end.body).to.include(`action="${publicUrl}/apps/${app.app_id}/session/end/confirm"`);
        const done = await signedIn.browser.submit(end, { logout: 'yes' }, undefined, 'http://localhost:8080/bye');
        expect(done.url.startsWith('http://localhost:8080/bye')).to.equal(true);
      } finally {
        restore();
      }
      expect(mailLink!.startsWith(`${publicUrl}/apps/${app.app_id}/interaction/`)).to.equal(true);
      expect(record.length).to.be.greaterThan(8);
      for (const r of record) {
        const label = `${r.method} ${r.url} → ${r.status}`;
        expect(r.body, label).not.to.include('evil.example');
        expect(r.body, label).not.to.include('https://');
        for (const [name, value] of r.headers) expect(`${name}: ${value}`, label).not.to.match(/evil\.example|https:\/\/|8443/);
        const location = r.headers.get('location');
        if (location) {
          const ok = location.startsWith('/apps/') || location.startsWith(`${publicUrl}/`) || location.startsWith(REDIRECT_URI) || location.startsWith('http://localhost:8080/bye');
          expect(ok, `${label}: Location ${location}`).to.equal(true);
        }
      }
      // The mail itself.
      for (const mail of h.smtp.mails) expect(`${mail.text}${mail.html}`).not.to.match(/evil\.example|https:\/\//);
    });

    it('ignores an absolute request target (GET http://evil.example/…) for discovery, redirects and the logout page', async () => {
      const base = `/apps/${app.app_id}`;
      const discovery = await raw(h.url, `https://evil.example:8443${base}/.well-known/openid-configuration`, { headers: EVIL });
      expect(discovery.status).to.equal(200);
      expect(discovery.body).not.to.include('evil.example');
      const metadata = JSON.parse(discovery.body) as Record<string, unknown>;
      expect(metadata.issuer).to.equal(`${h.url}${base}`);
      expect(metadata.authorization_endpoint).to.equal(`${h.url}${base}/auth`);
      expect(metadata.token_endpoint).to.equal(`${h.url}${base}/token`);
      expect(metadata.end_session_endpoint).to.equal(`${h.url}${base}/session/end`);

      const auth = await raw(
        h.url,
        `http://evil.example${base}/auth?client_id=${app.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&prompt=none&state=s`,
        { headers: EVIL },
      );
      expect(auth.status).to.equal(303);
      const location = new URL(String(auth.headers.location));
      expect(location.origin + location.pathname).to.equal(REDIRECT_URI);
      expect(location.searchParams.get('iss')).to.equal(`${h.url}${base}`);

      const logout = await raw(h.url, `http://evil.example${base}/session/end`, { headers: { ...EVIL, accept: 'text/html' } });
      expect(logout.status).to.equal(200);
      expect(logout.body).not.to.include('evil.example');
      expect(logout.body).to.include(`action="${h.url}${base}/session/end/confirm"`);

      const interaction = await raw(h.url, `http://evil.example${base}/auth?client_id=${app.client_id}&response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`, { headers: EVIL });
      expect(interaction.status).to.equal(303);
      expect(String(interaction.headers.location)).to.match(new RegExp(`^${base}/interaction/[A-Za-z0-9_-]+$`));
      for (const cookie of [interaction.headers['set-cookie'] ?? []].flat()) {
        expect(cookie).not.to.match(/domain=|secure/i);
      }
    });
  });

  describe('X-Forwarded-For', () => {
    async function linkRequestIp(h: Harness, forwardedFor: string): Promise<unknown> {
      const app = await h.createApp();
      const browser = new Browser();
      const { page } = await h.startLogin(app, browser);
      const form = /<form[^>]*action="([^"]*)"[\s\S]*?name="csrf" value="([^"]*)"/.exec(page.body)!;
      const email = `xff-${Math.random().toString(36).slice(2)}@example.com`;
      const res = await browser.request(new URL(form[1]!, page.url).href, { form: { csrf: form[2]!, email }, headers: { 'x-forwarded-for': forwardedFor } });
      expect(res.status).to.equal(200);
      const event = audits(h).find((e) => e.type === 'link.requested' && e.email === email);
      expect(event, 'a link.requested audit event').to.not.equal(undefined);
      return event!.ip;
    }

    describe('without TRUST_PROXY', () => {
      const h = new Harness();
      before(() => h.start());
      after(() => h.stop());

      it('is ignored: the audit log records the connection\'s address', async () => {
        const ip = await linkRequestIp(h, '203.0.113.9');
        expect(ip).to.be.oneOf(['127.0.0.1', '::ffff:127.0.0.1', '::1']);
      });
    });

    describe('with TRUST_PROXY=true', () => {
      const h = new Harness();
      before(() => h.start({ TRUST_PROXY: 'true' }));
      after(() => h.stop());

      it('is honoured: the audit log records the forwarded address', async () => {
        expect(await linkRequestIp(h, '203.0.113.9')).to.equal('203.0.113.9');
      });

      it('counts only the entry the proxy added, not the ones the client sent before it', async () => {
        expect(await linkRequestIp(h, '198.51.100.66, 203.0.113.10')).to.equal('203.0.113.10');
        expect(await linkRequestIp(h, '1.1.1.1,1.0.0.1 ,  203.0.113.11')).to.equal('203.0.113.11');
      });
    });
  });
});
