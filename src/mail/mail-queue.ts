// Sign-in mail leaves the request path: the request stores the mail in the outbox (in the
// configured store, sealed) and answers at once, so a slow or failing SMTP server changes
// neither the response nor its timing (no account enumeration by timing, no hanging
// pages). Sending, leases, retries and shutdown are the delivery queue's
// (delivery/delivery-queue.ts); this file says what a mail attempt is and how long mail is
// worth retrying.
import type { Clock } from '../clock.ts';
import { DeliveryQueue, Undeliverable, type AttemptObserver, type DeliveryQueueOptions } from '../delivery/delivery-queue.ts';
import type { Logger } from '../log.ts';
import type { Outbox } from '../storage/ports.ts';
import { MailSeal, type MailContext, type QueuedMail } from './mail-seal.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export type { MailContext };
export type MailQueueOptions = DeliveryQueueOptions;

export interface MailQueueDeps {
  readonly outbox: Outbox;
  readonly mailer: Mailer;
  /** KEY_ENCRYPTION_KEY: messages are sealed under a key derived from it. */
  readonly kek: Buffer;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Whether the app a mail is for still exists, asked before each attempt: a mail queued
   * just before its app was deleted (or waiting for a retry then) would carry a link that
   * leads nowhere, in the name of an app its owner took down. Rejecting (the store is
   * unreachable) fails the attempt, which is retried; it never drops the mail.
   */
  readonly appExists: (appId: string) => Promise<boolean>;
  readonly onSent: (context: MailContext, attempts: number) => void;
  readonly onFailed: (context: MailContext, reason: string) => void;
  readonly onAttempt?: AttemptObserver | undefined;
  readonly options?: MailQueueOptions | undefined;
}

/**
 * Quick at first, so a short outage costs seconds: an attempt at least every 5 s for the
 * first half minute, every 10 s for the next minute. Then backing off: the last attempt is
 * about 15 minutes after the first, the lifetime of a sign-in link by default.
 */
export const RETRY_DELAYS_MS: readonly number[] = [
  [1, 2, 3],
  Array(6).fill(5),
  Array(6).fill(10),
  Array(4).fill(30),
  Array(4).fill(60),
  [120, 120, 200],
]
  .flat()
  .map((s: number) => s * 1000);
const SEND_TIMEOUT_MS = 30_000;

/** The store could not tell whether a mail's app still exists: no SMTP server was asked. */
class AppUnknown extends Error {
  constructor(cause: unknown) {
    super(`whether the app exists could not be read: ${String(cause)}`, { cause });
    this.name = 'AppUnknown';
  }
}

export class MailQueue extends DeliveryQueue<QueuedMail> {
  constructor(deps: MailQueueDeps) {
    super({
      names: { what: 'sign-in mail', short: 'mail', done: 'sent', idField: 'mail_id' },
      outbox: deps.outbox,
      seal: new MailSeal(deps.kek),
      deliver: async (mail, signal) => {
        const appId = typeof mail.context['appId'] === 'string' ? mail.context['appId'] : undefined;
        if (appId !== undefined && !(await deps.appExists(appId).catch((err: unknown) => Promise.reject(new AppUnknown(err))))) {
          throw new Undeliverable('the app was deleted');
        }
        await deps.mailer.send(mail.message, signal, { appId });
      },
      // A mail given up says which side failed last: an operator looks at the store or at SMTP.
      failure: (err) => (err instanceof AppUnknown ? 'store unavailable' : 'smtp error'),
      logFields: (mail) => ({ app_id: mail.context['appId'] }),
      onDelivered: (mail, attempts) => deps.onSent(mail.context, attempts),
      onFailed: (mail, reason) => deps.onFailed(mail.context, reason),
      onAttempt: deps.onAttempt,
      clock: deps.clock,
      logger: deps.logger,
      retryDelaysMs: RETRY_DELAYS_MS,
      sendTimeoutMs: SEND_TIMEOUT_MS,
      options: deps.options,
    });
  }

  /** Stores the mail in the outbox (rejects when the store cannot) and has it sent. */
  enqueue(message: MailMessage, context: MailContext = {}): Promise<void> {
    return this.add({ message, context });
  }
}
