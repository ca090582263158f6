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
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { Mailer, MailMessage } from './mailer.ts';

export interface SmtpTimeouts {
  /** TCP connection established. */
  readonly connectMs: number;
  /** The server's 220 greeting, after connecting. */
  readonly greetingMs: number;
  /** Longest silence from the server once the conversation started. */
  readonly socketMs: number;
}

export const SMTP_TIMEOUTS: SmtpTimeouts = { connectMs: 10_000, greetingMs: 10_000, socketMs: 20_000 };

/** Idle connections kept open for the next mail; more may be open while that many mails are being sent. */
export const SMTP_POOL_SIZE = 4;
/** Messages one connection sends before it is replaced (relays limit messages per connection). */
const MESSAGES_PER_CONNECTION = 100;

/** One pooled connection: a nodemailer pool of exactly one connection, which this file opens. */
interface Connection {
  readonly transport: Transporter;
  socket: Socket | undefined;
  signal: AbortSignal | undefined;
}

export function createSmtpMailer(smtpUrl: string, from: string, timeouts: SmtpTimeouts = SMTP_TIMEOUTS, poolSize = SMTP_POOL_SIZE): Mailer {
  const idle: Connection[] = [];
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
        await Promise.race([connection.transport.sendMail({ from, ...message }), aborted]);
        sent = true;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        connection.signal = undefined;
        if (sent && idle.length < poolSize) idle.push(connection);
        else connection.transport.close();
      }
    },
    async close() {
      for (const connection of idle.splice(0)) connection.transport.close();
    },
  };
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
