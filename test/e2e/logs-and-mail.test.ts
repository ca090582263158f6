// What leaves the server besides responses: the log never carries a code, token or
// secret; a mail failure is a clear page, not a 500, and is audited.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness } from '../helpers/harness.ts';
import { fieldsOfLine } from '../helpers/log-lines.ts';

describe('logs and mail delivery', () => {
  for (const format of ['json', 'pretty']) {
    it(`keeps codes, tokens and secrets out of the log, and audits each step (LOG_FORMAT=${format})`, async () => {
      const h = await new Harness().start({ LOG_FORMAT: format });
      try {
        const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_basic' });
        const result = await h.signIn(app, 'logs@example.com', { scope: 'openid offline_access' });
        const refreshed = await oidc.refreshTokenGrant(result.config, result.tokens.refresh_token!);
        const code = new URL(result.link).searchParams.get('code')!;
        const shortCode = /instead: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(h.smtp.mails.at(-1)!.text)![1]!;
        const authCode = new URL(result.callbackUrl).searchParams.get('code')!;
        const secrets = [
          ADMIN_TOKEN,
          app.client_secret!,
          code,
          shortCode,
          shortCode.replace('-', ''),
          authCode,
          result.tokens.access_token,
          result.tokens.refresh_token!,
          result.tokens.id_token!,
          refreshed.access_token,
          refreshed.refresh_token!,
        ];
        const log = h.logs.join('');
        expect(h.logs.length).to.be.greaterThan(5);
        for (const secret of secrets) expect(log).not.to.include(secret);

        const lines = h.logs.map(fieldsOfLine);
        expect(h.logs.every((l) => l.startsWith('{') === (format === 'json'))).to.equal(true);
        const audit = lines.filter((l) => l.msg === 'audit');
        const types = audit.map((e) => e['audit.type']);
        for (const type of ['admin.app_created', 'link.requested', 'mail.sent', 'link.opened', 'link.accepted', 'token.issued', 'token.refreshed']) {
          expect(types, type).to.include(type);
        }
        const accepted = audit.find((e) => e['audit.type'] === 'link.accepted');
        expect(accepted).to.include({ 'audit.app_id': app.app_id, 'audit.client_id': app.client_id, 'audit.email': 'logs@example.com', 'audit.outcome': 'success' });
        expect(accepted!['audit.ip']).to.be.a('string');
        expect(accepted!['audit.user_agent']).to.be.a('string');
        // Each request's line names the path as the client sent it, app prefix included (an
        // app's mount strips it while the engine runs), and never its query.
        const requests = lines.filter((l) => l.msg === 'request');
        const paths = requests.map((l) => String(l.path));
        expect(paths).to.include(`/apps/${app.app_id}/auth`);
        expect(paths).to.include(`/apps/${app.app_id}/token`);
        expect(paths.every((p) => !p.includes('?'))).to.equal(true);
      } finally {
        await h.stop();
      }
    });
  }

  it('answers the same page when mail cannot be sent, retries, and audits the failure', async () => {
    const h = await new Harness().start();
    try {
      const app = await h.createApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      h.smtp.rejectNext = 10; // every attempt refused
      const page = await browser.submit(login.page, { email: 'down@example.com' });
      expect(page.status).to.equal(200);
      expect(page.body).to.include('Check your email');
      await h.server.mailQueue.idle();
      const failures = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit' && l.audit.type === 'mail.failed');
      expect(failures).to.have.length(1);
      expect(failures[0].audit.reason).to.equal('smtp error after 3 attempts');
      expect(h.smtp.rejectNext).to.equal(7); // one try and two retries reached the server
      const givenUp = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'sign-in mail given up');
      expect(givenUp.map((l) => [l.level, l.app_id, l.reason])).to.deep.equal([['error', app.app_id, 'smtp error after 3 attempts']]);
      expect(givenUp[0].err).to.match(/451/);
    } finally {
      await h.stop();
    }
  });

  it('delivers the mail on a retry after a temporary SMTP failure', async () => {
    const h = await new Harness().start();
    try {
      const app = await h.createApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      h.smtp.rejectNext = 1;
      const { mail } = await h.requestLink(browser, login.page, 'retry@example.com');
      expect(mail.subject).to.include(app.name);
      await h.server.mailQueue.idle();
      const sent = h.logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit' && l.audit.type === 'mail.sent');
      expect(sent.at(-1).audit.reason).to.equal('after 2 attempts');
    } finally {
      await h.stop();
    }
  });
});
