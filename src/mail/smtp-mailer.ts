// Sign-in mail over SMTP (nodemailer). Every step has a bound: connecting, the server's
// greeting, and any silence on the connection afterwards; the caller's signal bounds the
// whole message. A message gets its own connection, opened here (nodemailer's documented
// `getSocket` hook), so an abort can drop it at any stage, even while the server sits on
// the end of DATA.
import { connect, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
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

export function createSmtpMailer(smtpUrl: string, from: string, timeouts: SmtpTimeouts = SMTP_TIMEOUTS): Mailer {
  return {
    async send(message: MailMessage, signal?: AbortSignal) {
      signal?.throwIfAborted();
      let socket: Socket | undefined;
      const transport = nodemailer.createTransport(
        new SMTPTransport({
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
        await Promise.race([transport.sendMail({ from, ...message }), aborted]);
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
    },
    async close() {},
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
