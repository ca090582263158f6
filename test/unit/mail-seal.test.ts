// Queued mail sealed for the outbox: opens only with the same key, under the same id,
// unaltered; and the queue sends nothing from a message that does not open, so someone
// who can write to the store can neither read a link nor make Postern mail one elsewhere.
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { createLogger } from '../../src/log.ts';
import { MailSeal } from '../../src/mail/mail-seal.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { SmtpCapture } from '../helpers/smtp-capture.ts';
import { testMailQueue } from '../helpers/mail-queue.ts';

const mail = {
  message: { to: 'victim@example.com', subject: 'Sign in', text: 'https://id.example/link?code=secret-code', html: '<p>x</p>' },
  context: { appId: 'app-1', ip: '203.0.113.7' },
};

describe('MailSeal', () => {
  const kek = randomBytes(32);
  const seal = new MailSeal(kek);

  it('opens what it sealed, under the same id', () => {
    const id = randomUUID();
    expect(seal.open(id, seal.seal(id, mail))).to.deep.equal(mail);
  });

  it('shows nothing of the message sealed', () => {
    const sealed = seal.seal(randomUUID(), mail);
    for (const part of ['victim', 'secret-code', 'Sign in', '203.0.113.7', 'app-1']) expect(sealed).not.to.include(part);
  });

  it('does not open under another id, another key, or altered', () => {
    const id = randomUUID();
    const sealed = seal.seal(id, mail);
    expect(seal.open(randomUUID(), sealed), 'moved to another id').to.equal(undefined);
    expect(new MailSeal(randomBytes(32)).open(id, sealed), 'another KEY_ENCRYPTION_KEY').to.equal(undefined);
    const parts = sealed.split('.');
    parts[3] = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
    expect(seal.open(id, parts.join('.')), 'ciphertext altered').to.equal(undefined);
    expect(seal.open(id, JSON.stringify(mail)), 'written in clear').to.equal(undefined);
  });
});

describe('the mail queue and an outbox written by someone else', () => {
  it('sends nothing from a message that does not open, drops it and logs an error', async () => {
    const smtp = await new SmtpCapture().start();
    const kek = randomBytes(32);
    const { outbox } = openMemoryStores();
    const logs: string[] = [];
    const failed: unknown[] = [];
    const queue = testMailQueue(outbox, smtp.url, { kek, logger: createLogger('debug', (line) => void logs.push(line)), onFailed: (context) => failed.push(context) });
    try {
      const genuine = randomUUID();
      const sealed = new MailSeal(kek).seal(genuine, { ...mail, message: { ...mail.message, to: 'genuine@example.com' } });
      await outbox.add(randomUUID(), sealed, Date.now()); // a genuine message copied under another id
      await outbox.add(randomUUID(), new MailSeal(randomBytes(32)).seal('x', mail), Date.now()); // sealed under a key of the attacker's
      await outbox.add(randomUUID(), JSON.stringify(mail), Date.now()); // written in clear
      queue.start();
      await queue.idle();
      expect(smtp.connections, 'connections to the SMTP server').to.equal(0);
      expect(await outbox.nextDue()).to.equal(undefined);
      const dropped = logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => String(l.msg).startsWith('outbox message does not open'));
      expect(dropped.map((l) => l.level)).to.deep.equal(['error', 'error', 'error']);
      expect(failed).to.deep.equal([]);
    } finally {
      await queue.stop();
      await smtp.stop();
    }
  });
});
