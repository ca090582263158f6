// What the development mailbox shows: the mail this process kept and, from the audit
// trail, what kept a mail from arriving (a refused link request, an app's spent budget,
// a mail given up), newest first, filtered by app and address.
import { createHash } from 'node:crypto';
import type { AuditLog } from '../audit.ts';
import type { AppPage, AuditRecord } from '../storage/ports.ts';

/** A mail as the development mailbox keeps it (src/mail/dev-mailbox.ts). */
export interface KeptMail {
  readonly id: number;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly appId: string | undefined;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

export interface KeptMails {
  /** Newest first. */
  list(): readonly KeptMail[];
  get(id: number): KeptMail | undefined;
}

/** The audit events that explain a mail that did not come. */
export const MISSING_MAIL_EVENTS = ['link.rate_limited', 'link.app_limit_reached', 'mail.failed'] as const;

/** As many entries as the mailbox keeps mails. */
const SHOWN = 50;
/** Apps a development page lists (and whose events the mailbox reads): the oldest ones. */
export const DEV_APPS_SHOWN = 100;

export type MailboxEntry =
  | { readonly kind: 'mail'; readonly at: number; readonly appId: string | undefined; readonly mail: KeptMail }
  | { readonly kind: 'event'; readonly at: number; readonly appId: string; readonly event: AuditRecord };

export interface MailboxFilter {
  /** Only this app: an id of a stored app (never passed to a store otherwise). */
  readonly appId?: string | undefined;
  /** Only mail to, and events about, addresses containing this text (any letter case). */
  readonly address?: string | undefined;
}

export interface MailboxSources {
  /** The oldest `limit` apps (AppStore.page): a development page lists a bounded number. */
  readonly apps: (limit: number) => Promise<AppPage>;
  readonly audit: AuditLog;
  /** Absent when mail goes to SMTP_URL: then only the events are shown. */
  readonly mails?: KeptMails | undefined;
}

export async function mailboxEntries(sources: MailboxSources, filter: MailboxFilter): Promise<MailboxEntry[]> {
  // One app's events when the filter names it, whether or not it is among the apps listed.
  const apps = filter.appId !== undefined ? [{ id: filter.appId }] : (await sources.apps(DEV_APPS_SHOWN)).apps;
  const wanted = filter.address?.toLowerCase();
  const about = (address: unknown) => wanted === undefined || (typeof address === 'string' && address.toLowerCase().includes(wanted));
  // An app-wide refusal names no address: it concerns every address of its app.
  const events = (await Promise.all(apps.flatMap((app) => MISSING_MAIL_EVENTS.map((type) => sources.audit.query(app.id, { type, limit: SHOWN })))))
    .flat()
    .filter((event) => event.type === 'link.app_limit_reached' || about(event['email']));
  const mails = (sources.mails?.list() ?? []).filter(
    (mail) => about(mail.to) && (filter.appId === undefined || mail.appId === filter.appId),
  );
  return [
    ...mails.map((mail): MailboxEntry => ({ kind: 'mail', at: mail.at, appId: mail.appId, mail })),
    ...events.map((event): MailboxEntry => ({ kind: 'event', at: event.at, appId: event.appId, event })),
  ]
    .sort((a, b) => b.at - a.at)
    .slice(0, SHOWN);
}

/** Changes whenever an entry comes or goes: what the page polls for. */
export function stateOf(entries: readonly MailboxEntry[]): string {
  const ids = entries.map((e) => (e.kind === 'mail' ? `m${e.mail.id}` : `e${e.event.id}`)).join(',');
  return createHash('sha256').update(ids).digest('base64url').slice(0, 22);
}
