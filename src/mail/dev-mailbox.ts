// Development without SMTP_URL: mail is printed to the console and kept for the
// /dev/mailbox page. Never constructed in production (the config requires SMTP_URL there),
// which is why it may show links that the log otherwise never carries.
import type { Mailer, MailMessage } from './mailer.ts';

export interface StoredMail extends MailMessage {
  readonly id: number;
  readonly at: string;
}

export class DevMailbox implements Mailer {
  readonly #mails: StoredMail[] = [];
  readonly #print: (mail: StoredMail) => void;
  #next = 1;

  constructor(print: (mail: StoredMail) => void) {
    this.#print = print;
  }

  async send(message: MailMessage) {
    const mail = { ...message, id: this.#next++, at: new Date().toISOString() };
    this.#mails.unshift(mail);
    this.#mails.length = Math.min(this.#mails.length, 50);
    this.#print(mail);
  }

  list(): readonly StoredMail[] {
    return this.#mails;
  }

  async close() {}
}
