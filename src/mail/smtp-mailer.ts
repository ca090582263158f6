// Sign-in mail over SMTP (nodemailer). Every step has a bound: connecting, the server's
// greeting, and any silence on the connection afterwards; the caller's signal bounds the
// whole message. Connections are pooled: a message goes out on an idle open connection
// when there is one (no TCP, TLS and EHLO per mail), and a connection that sent its mail
// is kept open for the next, up to SMTP_POOL_SIZE idle ones. Each pooled connection
// carries one message at a time and is opened here (nodemailer's documented `getSocket`
// hook), so an abort can drop exactly that message's connection, at any stage, even while
// the server sits on the end of DATA; a connection that failed or was aborted is never
// reused.
import { connect, type Socket } from 'node:net';
import nodemailer, { type Transporter } from 'nodemailer';
import SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { isLoopbackOrigin } from '../ip-network.ts';
import type { Mailer, MailMessage } from './mailer.ts';
import { mimeMessage, senderOf } from './smtp-message.ts';

export interface SmtpTimeouts {
  /** TCP connection established. */
  readonly connectMs: number;
  /** The server's 220 greeting, after connecting. */
  readonly greetingMs: number;
  /** Longest silence from the server once the conversation started. */
  readonly socketMs: number;
}

export const SMTP_TIMEOUTS: SmtpTimeouts = { connectMs: 10_000, greetingMs: 10_000, socketMs: 20_000 };

/** DKIM signing (nodemailer's `dkim` option: relaxed/relaxed, rsa-sha256). */
export interface DkimKey {
  readonly domainName: string;
  readonly keySelector: string;
  /** PEM. */
  readonly privateKey: string;
}

/** The DKIM key the settings describe, if they describe one (loadConfig checked it is all three or none). */
export function dkimKeyOf(settings: {
  readonly dkimDomain: string | undefined;
  readonly dkimSelector: string | undefined;
  readonly dkimPrivateKey: string | undefined;
}): DkimKey | undefined {
  const { dkimDomain, dkimSelector, dkimPrivateKey } = settings;
  return dkimDomain && dkimSelector && dkimPrivateKey ? { domainName: dkimDomain, keySelector: dkimSelector, privateKey: dkimPrivateKey } : undefined;
}

/**
 * Every sign-in mail is a machine's message (RFC 3834): vacation responders and
 * out-of-office replies stay silent instead of answering the no-reply sender, and some
 * receivers file it as a notification rather than as mail from a person.
 */
const AUTOMATIC_HEADERS = { 'Auto-Submitted': 'auto-generated' } as const;

/**
 * Idle connections kept open for the next mail; more may be open while that many mails are
 * being sent. As many as the mail queue sends at once (DELIVERY_CONCURRENCY): with fewer,
 * steady traffic would open a connection (TCP, greeting, EHLO) for a mail and close it
 * after, again and again.
 */
export const SMTP_POOL_SIZE = 10;
/** Messages one connection sends before it is replaced (relays limit messages per connection). */
const MESSAGES_PER_CONNECTION = 100;

/** One pooled connection: a nodemailer pool of exactly one connection, which this file opens. */
interface Connection {
  readonly transport: Transporter;
  socket: Socket | undefined;
  signal: AbortSignal | undefined;
}

/**
 * Whether the connection must turn to TLS (STARTTLS) before it logs in or sends: for smtp://
 * to any host but this machine. nodemailer alone upgrades only when the server offers
 * STARTTLS, so someone on the path who strips that offer from the EHLO answer would read
 * the relay password and every sign-in link in the clear. With it required, such a
 * connection fails (ETLS) before either is sent, and the mail waits in the outbox. The URL
 * may still say otherwise, `?requireTLS=false` for a relay on a trusted network that speaks
 * no TLS: options in the URL win over these (nodemailer). smtps:// is TLS from the start.
 */
export function startTlsRequired(smtpUrl: string): boolean {
  return URL.parse(smtpUrl)?.protocol === 'smtp:' && !isLoopbackOrigin(smtpUrl);
}

export function createSmtpMailer(smtpUrl: string, from: string, timeouts: SmtpTimeouts = SMTP_TIMEOUTS, dkim?: DkimKey, poolSize = SMTP_POOL_SIZE): Mailer {
  const requireTLS = startTlsRequired(smtpUrl);
  const idle: Connection[] = [];
  const sender = senderOf(from);
  const open = (): Connection => {
    const connection: Connection = {
      socket: undefined,
      signal: undefined,
      // A transport object, not options: createTransport ignores every other option beside a `url`.
      transport: nodemailer.createTransport(
        new SMTPPool({
          pool: true,
          maxConnections: 1,
          maxMessages: MESSAGES_PER_CONNECTION,
          requireTLS,
          url: smtpUrl,
          greetingTimeout: timeouts.greetingMs,
          socketTimeout: timeouts.socketMs,
          getSocket(options: SMTPTransport.Options, callback: (err: Error | null, socketOptions?: object) => void) {
            if (connection.signal?.aborted) callback(connection.signal.reason as Error);
            else connection.socket = openSocket(options, timeouts.connectMs, callback);
          },
        }),
      ),
    };
    return connection;
  };
  return {
    async send(message: MailMessage, signal?: AbortSignal) {
      signal?.throwIfAborted();
      const connection = idle.pop() ?? open();
      connection.signal = signal;
      // Rejects when the signal aborts, dropping the connection whatever stage it is in.
      let onAbort = () => {};
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => {
          connection.socket?.destroy();
          reject(signal!.reason as Error);
        };
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      let sent = false;
      try {
        const raw = mimeMessage(sender, message, AUTOMATIC_HEADERS, new Date());
        const envelope = { from: sender.address, to: [message.to] };
        await Promise.race([connection.transport.sendMail({ raw, envelope, ...(dkim ? { dkim: { ...dkim } } : {}) }), aborted]);
        sent = true;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        connection.signal = undefined;
        if (sent && idle.length < poolSize) idle.push(connection);
        else connection.transport.close();
      }
    },
    // Connects, reads the greeting, says EHLO and, with credentials in the URL, logs in; sends
    // nothing, on a connection of its own (never one of the pool's).
    async check(signal: AbortSignal) {
      await onOwnConnection(smtpUrl, timeouts, signal, (transport) => transport.verify());
    },
    async close() {
      for (const connection of idle.splice(0)) connection.transport.close();
    },
  };
}

/** Runs `use` on a transport whose one connection is dropped, whatever its stage, when `signal` aborts. */
async function onOwnConnection<T>(
  smtpUrl: string,
  timeouts: SmtpTimeouts,
  signal: AbortSignal | undefined,
  use: (transport: nodemailer.Transporter<SMTPTransport.SentMessageInfo>) => Promise<T>,
): Promise<T> {
  signal?.throwIfAborted();
  let socket: Socket | undefined;
  const transport = nodemailer.createTransport(
    new SMTPTransport({
      requireTLS: startTlsRequired(smtpUrl),
      url: smtpUrl,
      greetingTimeout: timeouts.greetingMs,
      socketTimeout: timeouts.socketMs,
      getSocket(options, callback) {
        if (signal?.aborted) callback(signal.reason as Error, undefined);
        else socket = openSocket(options, timeouts.connectMs, callback);
      },
    }),
  );
  // Rejects when the signal aborts, dropping the connection whatever stage it is in.
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      socket?.destroy();
      reject(signal!.reason as Error);
    };
  });
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await Promise.race([use(transport), aborted]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Connects to the server the URL names, bounded by `connectMs`; hands nodemailer the open socket. */
function openSocket(options: SMTPTransport.Options, connectMs: number, callback: (err: Error | null, socketOptions?: object) => void): Socket {
  // nodemailer's own defaults when the URL names no port.
  const port = Number(options.port) || (options.secure ? 465 : 587);
  const socket = connect({ host: options.host ?? 'localhost', port });
  const timer = setTimeout(() => socket.destroy(new Error(`SMTP connection timeout after ${connectMs} ms`)), connectMs);
  const fail = (err: Error) => {
    clearTimeout(timer);
    callback(err);
  };
  socket.once('error', fail);
  socket.once('connect', () => {
    clearTimeout(timer);
    socket.off('error', fail);
    // smtps: nodemailer wraps this socket in TLS itself (the connection is "not yet secured").
    callback(null, { connection: socket });
  });
  return socket;
}
