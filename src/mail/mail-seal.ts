// A queued sign-in mail carries a live sign-in link: whoever reads it can sign in as its
// recipient. The outbox lives in the store (Redis, MongoDB), so each message is sealed
// (AES-256-GCM, under a key derived from KEY_ENCRYPTION_KEY for this purpose alone) before
// it leaves the process: a dump, replica or backup of the store shows no link, address or
// subject. The message id is bound in, so a sealed message copied under another id does
// not open.
import { deriveKey, openJson, sealJson } from '../keys/encryption.ts';
import type { MailMessage } from './mailer.ts';

/** Whatever the sender wants back with the outcome (e.g. audit context); sealed with the message. */
export type MailContext = Readonly<Record<string, unknown>>;

export interface QueuedMail {
  readonly message: MailMessage;
  readonly context: MailContext;
}

export class MailSeal {
  readonly #key: Buffer;

  constructor(kek: Buffer) {
    this.#key = deriveKey(kek, 'postern:outbox:seal');
  }

  seal(id: string, mail: QueuedMail): string {
    return sealJson(this.#key, mail, sealContext(id));
  }

  /** Undefined when it does not open: another key, altered, or stored under another id. */
  open(id: string, sealed: string): QueuedMail | undefined {
    return openJson<QueuedMail>(this.#key, sealed, sealContext(id));
  }
}

function sealContext(id: string): string {
  return `postern:outbox:${id}`;
}
