// /dev/mailbox: the development stand-in for an inbox, shared by every app and filtered by
// app and address. Mail HTML is hostile input: this page shows the text part only, and the
// HTML part is a link to its own sandboxed document (dev-routes.ts). A small script, allowed
// by its hash alone, reloads the page when something new arrives.
import { createHash } from 'node:crypto';
import { page } from '../../interactions/views/layout.ts';
import { html, raw, type SafeHtml } from '../text/html.ts';
import { devStyles, when } from './dev-look.ts';
import type { MailboxEntry, MailboxFilter } from './mailbox-entries.ts';

export const MAILBOX_PATH = '/dev/mailbox';
export const MAILBOX_STATE_PATH = '/dev/mailbox/state';
export const MAIL_HTML_PATH = '/dev/mailbox/mail';

/** Polls the state every two seconds; reloads when it changed. Static text, so one hash allows it. */
const LIVE_SCRIPT = `(function(){var live=document.getElementById('live');if(!live)return;var state=live.getAttribute('data-state');setInterval(function(){fetch('${MAILBOX_STATE_PATH}',{cache:'no-store'}).then(function(r){return r.json();}).then(function(s){if(s.state!==state)location.reload();}).catch(function(){});},2000);})();`;

export const LIVE_SCRIPT_HASH = `'sha256-${createHash('sha256').update(LIVE_SCRIPT).digest('base64')}'`;

/** The mailbox page's policy: the hosted pages' one, plus its own script and its polling. */
export const MAILBOX_POLICY = `default-src 'none'; script-src ${LIVE_SCRIPT_HASH}; connect-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`;

export interface MailboxApp {
  readonly id: string;
  readonly name: string;
}

export interface MailboxView {
  readonly entries: readonly MailboxEntry[];
  readonly filter: MailboxFilter;
  readonly apps: readonly MailboxApp[];
  /** Only links into Postern itself get a button (a mail could carry any URL). */
  readonly publicUrl: string;
  /** Mail goes to SMTP_URL: only the events are here. */
  readonly smtp: boolean;
  readonly state: string;
}

const describe = (type: string) =>
  ({
    'link.rate_limited': 'Sign-in link refused',
    'link.app_limit_reached': 'Sign-in links refused for the whole app',
    'mail.failed': 'Sign-in mail not sent',
  })[type] ?? type;

export function mailboxPage(view: MailboxView): string {
  const appName = (id: string | undefined) => view.apps.find((app) => app.id === id)?.name;
  const forApp = (id: string | undefined) => id && html` · ${appName(id) ?? 'deleted app'} <code>${id}</code>`;
  const items = view.entries.map((entry): SafeHtml => {
    if (entry.kind === 'event') {
      const { event } = entry;
      const email = typeof event['email'] === 'string' ? event['email'] : undefined;
      const reason = typeof event['reason'] === 'string' ? event['reason'] : undefined;
      return html`<li class="entry"><span class="tag refused">${event.type === 'mail.failed' ? 'Not sent' : 'Refused'}</span>
<h2>${describe(event.type)}${reason && html`: ${reason}`}</h2>
<p class="hint">${email ? html`To ${email}` : 'Every address'}${forApp(entry.appId)} · ${when(entry.at)}</p></li>`;
    }
    const { mail } = entry;
    return html`<li class="entry"><span class="tag">Mail</span>
<h2>${mail.subject}</h2>
<p class="hint">To ${mail.to}${forApp(entry.appId)} · ${when(entry.at)}</p>
<p class="actions">${linkIn(mail.text, view.publicUrl)}<a href="${`${MAIL_HTML_PATH}/${mail.id}`}">View the HTML mail</a></p>
<pre>${mail.text}</pre></li>`;
  });
  const empty = view.filter.appId !== undefined || view.filter.address !== undefined ? 'Nothing matches these filters.' : 'No mail yet. Ask for a sign-in link: it shows up here.';
  return page({
    title: 'Development mailbox',
    body: html`${devStyles()}
<p class="hint">${view.smtp ? 'Mail goes to SMTP_URL; here are the link requests that were refused and the mail that could not be sent.' : 'Sign-in mail of every app, kept in memory (the last 50), with the link requests that were refused and the mail that could not be sent.'}
Newest first. <span id="live" data-state="${view.state}">This page updates by itself.</span></p>
<form class="filters" method="get" action="${MAILBOX_PATH}">
<div><label for="app">App</label><select id="app" name="app"><option value="">Every app</option>${view.apps.map(
      (app) => html`<option value="${app.id}"${app.id === view.filter.appId && html` selected`}>${app.name} (${app.id})</option>`,
    )}</select></div>
<div><label for="to">Address contains</label><input id="to" name="to" type="text" value="${view.filter.address ?? ''}" autocomplete="off" spellcheck="false"></div>
<button type="submit">Filter</button> <a href="${MAILBOX_PATH}">Show all</a>
</form>
${items.length ? html`<ul class="entries">${items}</ul>` : html`<p>${empty}</p>`}
<script>${LIVE_SCRIPT_MARKUP}</script>`,
  });
}

// Inside <script> nothing is decoded, so escaping would break the script and its hash. It
// is a constant of this file, holding no data and no "<" that could end the element.
const LIVE_SCRIPT_MARKUP = raw(LIVE_SCRIPT);

/** The first link in the text into Postern itself (a sign-in link), as a button. */
function linkIn(text: string, publicUrl: string) {
  const link = /https?:\/\/\S+/.exec(text)?.[0];
  return link && link.startsWith(`${publicUrl}/`) && html`<a class="button" href="${link}">Open the sign-in link</a>`;
}

/** The page for a mail that is no longer kept (or never was). */
export function noSuchMailPage(): string {
  return page({
    title: 'No such mail',
    body: html`<p>The development mailbox keeps the last 50 mails, in memory, until the server stops.</p><p><a href="${MAILBOX_PATH}">Back to the mailbox</a></p>`,
  });
}
