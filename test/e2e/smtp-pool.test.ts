// The SMTP transport keeps connections open for the next mail (src/mail/smtp-mailer.ts),
// a bounded number of them, and never reuses one that failed or was aborted.
import { expect } from 'chai';
import { DELIVERY_CONCURRENCY } from '../../src/delivery/delivery-queue.ts';
import { createSmtpMailer, SMTP_POOL_SIZE } from '../../src/mail/smtp-mailer.ts';
import { SmtpCapture } from '../helpers/smtp-capture.ts';

const mail = (to: string) => ({ to, subject: 'Your sign-in link', text: 'text', html: '<p>html</p>' });

describe('SMTP connection pool', function () {
  this.timeout(20_000);
  let smtp: SmtpCapture;

  beforeEach(async () => {
    smtp = await new SmtpCapture().start();
  });
  afterEach(() => smtp.stop());

  it('sends one mail after another over one connection', async () => {
    const mailer = createSmtpMailer(smtp.url, 'Postern <no-reply@example.com>');
    for (let i = 0; i < 5; i++) await mailer.send(mail(`one-${i}@example.com`));
    expect(smtp.mails.map((m) => m.to)).to.deep.equal([0, 1, 2, 3, 4].map((i) => `one-${i}@example.com`));
    expect(smtp.connections).to.equal(1);
    await mailer.close();
  });

  it('keeps a connection for every mail the queue sends at once: its bursts after the first open none', async () => {
    expect(SMTP_POOL_SIZE).to.be.at.least(DELIVERY_CONCURRENCY);
    const mailer = createSmtpMailer(smtp.url, 'Postern <no-reply@example.com>');
    for (let burst = 0; burst < 3; burst++) {
      await Promise.all(Array.from({ length: DELIVERY_CONCURRENCY }, (_, i) => mailer.send(mail(`steady-${burst}-${i}@example.com`))));
    }
    expect(smtp.mails).to.have.length(3 * DELIVERY_CONCURRENCY);
    expect(smtp.connections).to.equal(DELIVERY_CONCURRENCY);
    await mailer.close();
  });

  it('opens a connection per mail of a burst, then keeps only SMTP_POOL_SIZE of them for the mails after', async () => {
    const mailer = createSmtpMailer(smtp.url, 'Postern <no-reply@example.com>');
    await Promise.all(Array.from({ length: 10 }, (_, i) => mailer.send(mail(`burst-${i}@example.com`))));
    expect(smtp.connections).to.equal(10);
    // Twice the pool at once: the kept connections carry SMTP_POOL_SIZE of them, the rest open new ones.
    await Promise.all(Array.from({ length: 2 * SMTP_POOL_SIZE }, (_, i) => mailer.send(mail(`after-${i}@example.com`))));
    expect(smtp.connections).to.equal(10 + SMTP_POOL_SIZE);
    expect(smtp.mails).to.have.length(10 + 2 * SMTP_POOL_SIZE);
    await mailer.close();
  });

  it('never reuses a connection whose server failed to greet or that an abort dropped', async () => {
    const mailer = createSmtpMailer(smtp.url, 'Postern <no-reply@example.com>', { connectMs: 2_000, greetingMs: 2_000, socketMs: 5_000 });
    await mailer.send(mail('first@example.com'));
    smtp.stallAfterDataNext = 1;
    const aborted = await mailer.send(mail('stuck@example.com'), AbortSignal.timeout(500)).catch((err: Error) => err);
    expect(aborted).to.be.instanceOf(Error);
    await smtp.until('the stuck connection is dropped', () => smtp.stalled === 0);
    await mailer.send(mail('next@example.com'));
    expect(smtp.connections, 'a new connection after the aborted one').to.equal(2);
    smtp.stallGreetingNext = 1;
    await mailer.send(mail('another@example.com'));
    // The kept connection carried that one; a fresh one meets the silent greeting and fails.
    const failed = await Promise.all([mailer.send(mail('a@example.com')), mailer.send(mail('b@example.com'))].map((p) => p.then(() => 'sent', (err: Error) => err.message)));
    expect(failed.filter((r) => r !== 'sent')).to.have.length.at.most(1);
    await mailer.send(mail('after@example.com'));
    expect(smtp.mails.map((m) => m.to)).to.include.members(['first@example.com', 'next@example.com', 'after@example.com']);
    await mailer.close();
  });
});
