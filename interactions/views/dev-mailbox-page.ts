// /dev/mailbox: the development stand-in for an inbox. Only mounted without SMTP_URL and
// outside production.
import { html } from '../../src/text/html.ts';
import { page } from './layout.ts';

/** The fields of a kept mail this page shows (the dev mailbox's stored mails have them). */
export interface MailboxEntry {
  readonly subject: string;
  readonly to: string;
  readonly at: string;
  readonly text: string;
}

export function devMailboxPage(mails: readonly MailboxEntry[]): string {
  const items = mails.length
    ? mails.map(
        (m, i) => html`${i > 0 && html`\n<hr>\n`}<article><h2>${m.subject}</h2><p class="hint">To ${m.to} · ${m.at}</p>
<pre>${m.text}</pre>${linkOf(m.text)}</article>`,
      )
    : html`<p>No mail yet. Ask for a sign-in link and refresh this page.</p>`;
  return page({ title: 'Development mailbox', body: html`<p class="hint">Newest first; kept in memory, last 50.</p>${items}` });
}

function linkOf(text: string) {
  const link = /https?:\/\/\S+/.exec(text)?.[0];
  return link && html`<p><a class="button" href="${link}">Open the sign-in link</a></p>`;
}
