// A real SMTP server (smtp-server) on a free port that keeps every message it receives,
// parsed with mailparser, so tests read sign-in mail exactly as a mail client would.
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export class SmtpCapture {
  readonly mails: CapturedMail[] = [];
  readonly #server: SMTPServer;
  readonly #waiters: (() => void)[] = [];
  port = 0;
  /** The next N messages are refused with a temporary SMTP error (451). */
  rejectNext = 0;

  constructor() {
    this.#server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, _session, callback) => {
        if (this.rejectNext > 0) {
          this.rejectNext -= 1;
          stream.resume();
          stream.on('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
          return;
        }
        simpleParser(stream)
          .then((parsed) => {
            const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
            this.mails.push({
              to: to?.value[0]?.address ?? '',
              from: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            });
            this.#waiters.splice(0).forEach((wake) => wake());
            callback();
          })
          .catch(callback);
      },
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  /** Waits for the next mail to `to` that arrives after `since` mails were already seen. */
  async next(to: string, since = 0, timeoutMs = 5000): Promise<CapturedMail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.mails.slice(since).find((m) => m.to === to);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

export function linkIn(mail: CapturedMail): string {
  const match = /https?:\/\/\S+\/link\?code=[A-Za-z0-9_-]+/.exec(mail.text);
  if (!match) throw new Error(`no sign-in link in mail: ${mail.text}`);
  return match[0];
}
