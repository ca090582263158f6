// A mail queue as tests build one outside a Harness: over a given outbox, sending to a
// capture server, with a fresh key, the system clock, a silent log and no-op callbacks
// unless the test names its own.
import { randomBytes } from 'node:crypto';
import { systemClock } from '../../src/clock.ts';
import { createLogger } from '../../src/log.ts';
import { MailQueue, type MailQueueDeps } from '../../src/mail/mail-queue.ts';
import { createSmtpMailer } from '../../src/mail/smtp-mailer.ts';
import type { Outbox } from '../../src/storage/ports.ts';

export function testMailQueue(outbox: Outbox, smtpUrl: string, overrides: Partial<Omit<MailQueueDeps, 'outbox' | 'mailer'>> = {}): MailQueue {
  return new MailQueue({
    outbox,
    mailer: createSmtpMailer(smtpUrl, 'Postern <no-reply@example.com>'),
    kek: randomBytes(32),
    clock: systemClock,
    logger: createLogger('silent'),
    appExists: async () => true,
    onSent: () => {},
    onFailed: () => {},
    ...overrides,
  });
}
