// A real SMTP server (smtp-server) on a free port that keeps every message it receives,
// parsed with mailparser, so tests read sign-in mail exactly as a mail client would. It
// can also misbehave the ways real relays do: turn connections away, never greet, or read
// a message and never answer it.
import { simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface CapturedMail {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  /** The message exactly as it arrived (headers and body), e.g. to verify its DKIM signature. */
  readonly raw: Buffer;
}

export class SmtpCapture {
  readonly mails: CapturedMail[] = [];
  readonly #server: SMTPServer;
  readonly #waiters: (() => void)[] = [];
  /** Sessions the server sits on (no greeting, or DATA never answered), by session id. */
  readonly #stalled = new Set<string>();
  port = 0;
  /** The next N messages are refused with a temporary SMTP error (451). */
  rejectNext = 0;
  /** The next N connections are turned away at once (421 instead of a greeting). */
  refuseNext = 0;
  /** The next N connections never get a greeting. */
  stallGreetingNext = 0;
  /** The next N messages are read to the end of DATA and never answered. */
  stallAfterDataNext = 0;
  /** Connections accepted so far. */
  connections = 0;
  /** User names clients logged in with, and whether the connection was TLS by then. */
  readonly logins: { readonly user: string; readonly overTls: boolean }[] = [];
  /** Whether each message arrived over TLS, in the order received (refused or captured). */
  readonly messagesOverTls: boolean[] = [];
  readonly #secure: boolean;
  readonly #host: string;

  /**
   * `secure`: TLS from the first byte (smtps); `startTls`: STARTTLS offered. Either with
   * smtp-server's built-in self-signed certificate. Without `startTls` the server answers
   * EHLO as a relay would with its STARTTLS offer stripped on the way, and takes a login in
   * the clear. `host`: the address it listens on (default 127.0.0.1).
   */
  constructor(options: { secure?: boolean; startTls?: boolean; host?: string } = {}) {
    this.#secure = options.secure ?? false;
    this.#host = options.host ?? '127.0.0.1';
    this.#server = new SMTPServer({
      secure: this.#secure,
      authOptional: true,
      allowInsecureAuth: true,
      onAuth: (auth, session, callback) => {
        this.logins.push({ user: auth.username ?? '', overTls: session.secure });
        callback(null, { user: auth.username });
      },
      disabledCommands: options.startTls ? [] : ['STARTTLS'],
      disableReverseLookup: true,
      logger: false,
      // stop() drops connections still open after this (a stalled one would hold it 30 s).
      closeTimeout: 100,
      onConnect: (session, callback) => {
        this.connections += 1;
        if (this.refuseNext > 0) {
          this.refuseNext -= 1;
          callback(Object.assign(new Error('not now'), { responseCode: 421 }));
        } else if (this.stallGreetingNext > 0) {
          this.stallGreetingNext -= 1;
          this.#stalled.add(session.id);
        } else {
          callback();
        }
      },
      onClose: (session) => {
        this.#stalled.delete(session.id);
      },
      onData: (stream, session, callback) => {
        this.messagesOverTls.push(session.secure);
        if (this.stallAfterDataNext > 0) {
          this.stallAfterDataNext -= 1;
          this.#stalled.add(session.id);
          stream.resume();
          return;
        }
        if (this.rejectNext > 0) {
          this.rejectNext -= 1;
          stream.resume();
          stream.on('end', () => callback(Object.assign(new Error('try again later'), { responseCode: 451 })));
          return;
        }
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        new Promise<Buffer>((resolve, reject) => stream.once('end', () => resolve(Buffer.concat(chunks))).once('error', reject))
          .then(async (raw) => [raw, await simpleParser(raw)] as const)
          .then(([raw, parsed]) => {
            const to = Array.isArray(parsed.to) ? parsed.to[0] : parsed.to;
            this.mails.push({
              to: to?.value[0]?.address ?? '',
              from: parsed.from?.text ?? '',
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
              raw,
            });
            this.#waiters.splice(0).forEach((wake) => wake());
            callback();
          })
          .catch(callback);
      },
    });
    // A client that drops its connection mid-transaction (the stalled-mail tests make
    // Postern do so on purpose) is an 'error' event of the server: without a listener it
    // would be thrown in whichever test runs then.
    this.#server.on('error', () => {});
  }

  /** Connections the server is sitting on right now; the client closing one ends it. */
  get stalled(): number {
    return this.#stalled.size;
  }

  /** Polls (every 20 ms, at most `timeoutMs`) until `condition` holds; fails naming `what`. */
  async until(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
    for (const deadline = Date.now() + timeoutMs; !condition(); await new Promise((r) => setTimeout(r, 20))) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    }
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, this.#host, resolve));
    this.port = (this.#server.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return this.#secure ? `smtps://${host}:${this.port}/?tls.rejectUnauthorized=false` : `smtp://${host}:${this.port}`;
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

/** The short code a sign-in mail offers for typing on the device that started, as mailed (ABCD-EFGH). */
export function shortCodeIn(mail: CapturedMail): string {
  const match = /code on the sign-in page instead: ([A-Z0-9]{4}-[A-Z0-9]{4})/.exec(mail.text);
  if (!match) throw new Error(`no short code in mail: ${mail.text}`);
  return match[1]!;
}

export function linkIn(mail: CapturedMail): string {
  const match = /https?:\/\/\S+\/link\?code=[A-Za-z0-9_-]+(?:&lang=[a-z]{2})?/.exec(mail.text);
  if (!match) throw new Error(`no sign-in link in mail: ${mail.text}`);
  return match[0];
}
