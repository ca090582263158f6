export interface MailMessage {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Which app a mail is sent for: the development mailbox files mail by it; SMTP ignores it. */
export interface MailFor {
  readonly appId?: string | undefined;
}

/** The mail port: the login flow sends through this and never sees a transport. */
export interface Mailer {
  /**
   * Resolves once the mail server accepted the message. When `signal` aborts (the queue's
   * deadline for one message, or shutdown) it rejects at once and drops its connection.
   */
  send(message: MailMessage, signal?: AbortSignal, sentFor?: MailFor): Promise<void>;
  /**
   * Resolves when the mail server answers as it must before it can take a message (greeting,
   * EHLO, login) without sending one; rejects with the reason otherwise, or when `signal`
   * aborts. A mailer with nowhere to connect to (the development mailbox) has none.
   */
  check?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
