// STARTTLS is required, not just tried, for smtp:// to a mail server on another machine: a
// relay whose STARTTLS offer was stripped on the way (what an active attacker on the path
// presents) gets neither the relay password nor a sign-in link; a relay that offers it gets
// the mail over TLS; an operator may still say `?requireTLS=false` for a relay on a trusted
// network. The servers here are real SMTP servers (smtp-server) listening on this machine's
// own non-loopback address, so Postern reaches them as it would reach another machine.
import { expect } from 'chai';
import { networkInterfaces } from 'node:os';
import { startTlsRequired } from '../../src/mail/smtp-mailer.ts';
import { Browser } from '../helpers/browser.ts';
import { Harness } from '../helpers/harness.ts';
import { SmtpCapture } from '../helpers/smtp-capture.ts';

/** This machine's first IPv4 address that is not loopback: "another machine" as far as a URL says. */
const outward = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

interface LogLine {
  readonly msg: string;
  readonly err?: string;
}

describe('STARTTLS for sign-in mail', function () {
  this.timeout(30_000);

  it('is required for smtp:// to another host, not for this machine, never for smtps://, and the URL may turn it off', () => {
    expect(startTlsRequired('smtp://user:pass@smtp.example.com:587')).to.equal(true);
    expect(startTlsRequired('smtp://192.0.2.10:25')).to.equal(true);
    expect(startTlsRequired('smtp://mailpit:1025')).to.equal(true);
    // Spellings of this machine only a WHATWG http(s) parser would normalise count as another host: the safe side.
    expect(startTlsRequired('smtp://LOCALHOST:25')).to.equal(true);
    expect(startTlsRequired('smtp://127.1:25')).to.equal(true);
    for (const local of ['smtp://127.0.0.1:25', 'smtp://localhost:1025', 'smtp://[::1]:25', 'smtp://u:p@relay.localhost:25']) {
      expect(startTlsRequired(local), local).to.equal(false);
    }
    expect(startTlsRequired('smtps://smtp.example.com:465')).to.equal(false);
  });

  // Visible when skipped: the machine has no address but loopback, so no server can stand in for another host.
  (outward ? describe : describe.skip)(`a mail server at ${outward ?? 'another address (none on this machine)'}`, () => {
    const host = outward!;

    /** A Harness whose sign-in mail goes to the relay at `url`; one link requested for `email`. */
    async function requestLink(url: string, email: string): Promise<Harness> {
      const h = new Harness();
      await h.start({ SMTP_URL: url });
      const app = await h.createApp();
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      // The page says the same whatever happens to the mail (no-enumeration): it is read from the relay.
      const page = await browser.submit(login.page, { email });
      expect(page.status).to.equal(200);
      return h;
    }

    it('sends neither the password nor the link to a relay whose STARTTLS offer was stripped; the mail waits for a retry', async () => {
      const stripped = await new SmtpCapture({ host }).start();
      const h = await requestLink(`smtp://postern:relay-password@${host}:${stripped.port}`, 'strip@example.com');
      try {
        await stripped.until('an attempt that fails', () => h.logs.some((l) => (JSON.parse(l) as LogLine).msg === 'sign-in mail not sent; will retry'));
        expect(stripped.connections, 'the relay was reached').to.be.greaterThan(0);
        expect(stripped.logins, 'no login in the clear').to.deep.equal([]);
        expect(stripped.messagesOverTls, 'no message in the clear').to.deep.equal([]);
        expect(stripped.mails).to.deep.equal([]);
        const failure = h.logs.map((l) => JSON.parse(l) as LogLine).find((l) => l.msg === 'sign-in mail not sent; will retry');
        expect(failure?.err).to.match(/STARTTLS/);
        expect(h.logs.join('\n')).not.to.include('relay-password');
        // The mail server check says the same, as /readyz shows it (readiness itself does not depend on mail).
        await h.server.mailHealth.check();
        const readyz = (await (await fetch(`${h.url}/readyz`)).json()) as { mail?: { status: string; error?: string } };
        expect(readyz.mail).to.include({ status: 'unreachable', error: 'ETLS' });
        expect(stripped.logins).to.deep.equal([]);
      } finally {
        await h.stop();
        await stripped.stop();
      }
    });

    it('sends over TLS to a relay that offers STARTTLS: the login and the mail arrive encrypted', async () => {
      const relay = await new SmtpCapture({ host, startTls: true }).start();
      // smtp-server's built-in certificate is self-signed: this test is about the upgrade, not the CA.
      const h = await requestLink(`smtp://postern:relay-password@${host}:${relay.port}/?tls.rejectUnauthorized=false`, 'tls@example.com');
      try {
        await relay.next('tls@example.com');
        expect(relay.logins).to.deep.equal([{ user: 'postern', overTls: true }]);
        expect(relay.messagesOverTls).to.deep.equal([true]);
      } finally {
        await h.stop();
        await relay.stop();
      }
    });

    it('sends in the clear only when the URL says ?requireTLS=false (a relay on a trusted network)', async () => {
      const plain = await new SmtpCapture({ host }).start();
      const h = await requestLink(`smtp://${host}:${plain.port}/?requireTLS=false`, 'plain@example.com');
      try {
        await plain.next('plain@example.com');
        expect(plain.messagesOverTls).to.deep.equal([false]);
      } finally {
        await h.stop();
        await plain.stop();
      }
    });
  });
});
