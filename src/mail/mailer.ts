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
  close(): Promise<void>;
}
