// Mail deliverability: DKIM-signed sign-in mail that a receiver's verifier accepts, the
// Auto-Submitted header that silences auto-replies, and the mail server's reachability:
// warned about at start-up, shown on /readyz, never a reason to refuse to start or to be
// taken out of rotation.
import { expect } from 'chai';
import { generateKeyPairSync } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { verifyDkim } from '../helpers/dkim.ts';
import { Harness } from '../helpers/harness.ts';
import { Instance } from '../helpers/instance.ts';
import { freePort } from '../helpers/redis-server.ts';
import { MAIL_CHECK_MAX_AGE_MS } from '../../src/mail/mail-health.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const DKIM = {
  DKIM_DOMAIN: 'example.com',
  DKIM_SELECTOR: 'postern2025',
  DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs1', format: 'pem' }) as string,
  MAIL_FROM: 'Example sign-in <no-reply@login.example.com>',
};

interface Readyz {
  status: string;
  mail?: { status: string; checked_at?: string; error?: string };
}
const readyz = async (url: string) => {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as Readyz };
};

describe('mail deliverability', function () {
  this.timeout(30_000);

  describe('with DKIM settings', () => {
    const h = new Harness();
    before(() => h.start(DKIM));
    after(() => h.stop());

    it('signs sign-in mail so that the signature verifies with the published key, over From, To and Subject', async () => {
      const app = await h.createApp();
      await h.authorize(app, 'dkim@example.org');
      const mail = h.smtp.mails.at(-1)!;
      const result = verifyDkim(mail.raw, publicKey);
      expect(result.domain).to.equal('example.com');
      expect(result.selector).to.equal('postern2025');
      expect(result.signedHeaders).to.include.members(['from', 'to', 'subject']);
    });

    it('has a signature that fails once the link, the subject or the sender is changed (a forged mail does not pass)', async () => {
      const raw = h.smtp.mails.at(-1)!.raw.toString('latin1');
      const link = /code=([A-Za-z0-9_-]{10})/.exec(raw)![1]!;
      const forgeries = [
        raw.replace(link, `${link.slice(0, -1)}${link.endsWith('A') ? 'B' : 'A'}`),
        raw.replace(/^Subject: /m, 'Subject: Urgent: '),
        raw.replace(/^From: .*$/m, 'From: Attacker <no-reply@example.com>'),
      ];
      for (const forged of forgeries) {
        expect(forged).to.not.equal(raw);
        expect(() => verifyDkim(Buffer.from(forged, 'latin1'), publicKey)).to.throw(/does not (match|verify)/);
      }
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
      expect(() => verifyDkim(Buffer.from(raw, 'latin1'), otherKey)).to.throw(/does not verify/);
    });
  });

  describe('without DKIM settings', () => {
    const h = new Harness();
    before(() => h.start());
    after(() => h.stop());

    it('marks sign-in mail Auto-Submitted: auto-generated and adds no DKIM-Signature', async () => {
      const app = await h.createApp();
      await h.authorize(app, 'auto@example.org');
      const parsed = await simpleParser(h.smtp.mails.at(-1)!.raw);
      expect(parsed.headers.get('auto-submitted')).to.equal('auto-generated');
      expect(parsed.headers.has('dkim-signature')).to.equal(false);
    });

    it('shows the mail server as reachable on /readyz, checking it at most once a minute however many probes arrive', async () => {
      const first = await readyz(h.url);
      expect(first.status).to.equal(200);
      expect(first.body.mail?.status).to.be.oneOf(['checking', 'reachable']);
      await h.smtp.until('mail server checked', () => h.smtp.connections > 0);
      await h.server.mailHealth.check();
      const connections = h.smtp.connections;
      const burst = await Promise.all(Array.from({ length: 40 }, () => readyz(h.url)));
      for (const answer of burst) expect(answer.body.mail).to.include({ status: 'reachable' }).and.have.property('checked_at');
      expect(h.smtp.connections, 'a flood of probes opened SMTP connections').to.equal(connections);

      h.clock.travel(MAIL_CHECK_MAX_AGE_MS / 1000 + 1);
      await Promise.all(Array.from({ length: 10 }, () => readyz(h.url)));
      await h.server.mailHealth.check();
      expect(h.smtp.connections - connections, 'one stale result, one new check').to.equal(1);
    });

    it('reports a mail server that turns connections away without failing readiness, and its recovery in the log', async () => {
      h.smtp.refuseNext = 1;
      h.clock.travel(MAIL_CHECK_MAX_AGE_MS / 1000 + 1);
      await readyz(h.url);
      await h.server.mailHealth.check();
      const down = await readyz(h.url);
      expect(down.status, 'readiness does not depend on mail').to.equal(200);
      expect(down.body.mail?.status).to.equal('unreachable');
      expect(down.body.mail?.error).to.match(/^[A-Z][A-Z_]+$/);
      expect(JSON.stringify(down.body), 'the server address stays out of a public answer').not.to.include(String(h.smtp.port));
      h.clock.travel(MAIL_CHECK_MAX_AGE_MS / 1000 + 1);
      await readyz(h.url);
      await h.server.mailHealth.check();
      expect((await readyz(h.url)).body.mail?.status).to.equal('reachable');
      const messages = h.logs.map((l) => (JSON.parse(l) as { msg: string }).msg);
      expect(messages).to.include.members([
        'mail server unreachable: sign-in mail waits in the outbox until it answers (check SMTP_URL)',
        'mail server reachable again',
      ]);
    });
  });

  describe('a Postern process whose mail server is down at start-up', () => {
    let instance: Instance;
    before(async () => {
      const closedPort = await freePort();
      instance = await new Instance(await freePort(), {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        SMTP_URL: `smtp://mailer:s3cret-password@127.0.0.1:${closedPort}`,
      }).start();
    });
    after(() => instance?.kill());

    it('starts anyway and warns in the log, naming the setting and never the password', async () => {
      await instance.printed(/mail server unreachable/);
      const [warning] = instance.logged('mail server unreachable: sign-in mail waits in the outbox until it answers (check SMTP_URL)');
      expect(warning).to.include({ level: 'warn', code: 'ECONNREFUSED' });
      expect(instance.output).not.to.include('s3cret-password');
    });

    it('stays ready, with the mail server shown unreachable in the /readyz detail', async () => {
      const answer = await readyz(instance.url);
      expect(answer.status).to.equal(200);
      expect(answer.body).to.deep.include({ status: 'ready' });
      expect(answer.body.mail).to.include({ status: 'unreachable', error: 'ECONNREFUSED' });
    });
  });
});
