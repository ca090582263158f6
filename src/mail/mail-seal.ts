// A queued sign-in mail carries a live sign-in link: whoever reads it can sign in as its
// recipient. So it is sealed in the outbox (delivery/outbox-seal.ts): a dump, replica or
// backup of the store shows no link, address or subject.
import { OutboxSeal } from '../delivery/outbox-seal.ts';
import type { MailMessage } from './mailer.ts';

/** Whatever the sender wants back with the outcome (e.g. audit context); sealed with the message. */
export type MailContext = Readonly<Record<string, unknown>>;

export interface QueuedMail {
  readonly message: MailMessage;
  readonly context: MailContext;
}

export class MailSeal extends OutboxSeal<QueuedMail> {
  constructor(kek: Buffer) {
    super(kek, 'postern:outbox');
  }
}
