// /dev/mailbox: the development stand-in for an inbox. Only mounted without SMTP_URL and
// outside production.
import type { StoredMail } from '../../src/mail/dev-mailbox.ts';
import { html, page } from './layout.ts';

export function devMailboxPage(mails: readonly StoredMail[]): string {
  const items = mails.length
    ? mails
        .map(
          (m) => `<article><h2>${html(m.subject)}</h2><p class="hint">To ${html(m.to)} · ${html(m.at)}</p>
<pre>${html(m.text)}</pre>${linkOf(m.text)}</article>`,
        )
        .join('\n<hr>\n')
    : '<p>No mail yet. Ask for a sign-in link and refresh this page.</p>';
  return page({ title: 'Development mailbox', body: `<p class="hint">Newest first; kept in memory, last 50.</p>${items}` });
}

function linkOf(text: string): string {
  const link = /https?:\/\/\S+/.exec(text)?.[0];
  return link ? `<p><a class="button" href="${html(link)}">Open the sign-in link</a></p>` : '';
}
