// Development without SMTP_URL: mail is printed to the console and kept for the
// /dev/mailbox page. Never constructed in production (the config requires SMTP_URL there),
// which is why it may show links that the log otherwise never carries.
import { systemClock, type Clock } from '../clock.ts';
import type { MailFor, Mailer, MailMessage } from './mailer.ts';

export interface StoredMail extends MailMessage {
  readonly id: number;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The app the mail was sent for, when the sender said. */
  readonly appId: string | undefined;
}

/** Mails kept, newest first: enough for a development session, bounded in memory. */
export const KEPT_MAILS = 50;

export class DevMailbox implements Mailer {
  readonly #mails: StoredMail[] = [];
  readonly #print: (mail: StoredMail) => void;
  readonly #clock: Clock;
  #next = 1;

  constructor(print: (mail: StoredMail) => void, clock: Clock = systemClock) {
    this.#print = print;
    this.#clock = clock;
  }

  async send(message: MailMessage, _signal?: AbortSignal, sentFor: MailFor = {}) {
    const mail = { ...message, id: this.#next++, at: this.#clock.now(), appId: sentFor.appId };
    this.#mails.unshift(mail);
    this.#mails.length = Math.min(this.#mails.length, KEPT_MAILS);
    this.#print(mail);
  }

  /** Newest first. */
  list(): readonly StoredMail[] {
    return this.#mails;
  }

  get(id: number): StoredMail | undefined {
    return this.#mails.find((mail) => mail.id === id);
  }

  async close() {}
}
