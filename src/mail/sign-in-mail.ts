// The sign-in mail: one absolute link and, in words, when it stops working. Plain text
// and HTML carry the same content; the HTML part has no remote images or scripts.
import { html } from '../text/html.ts';
import type { MailMessage } from './mailer.ts';

export function signInMail(input: {
  to: string;
  appName: string;
  link: string;
  shortCode: string;
  ttlSeconds: number;
  expiresAt: number;
}): MailMessage {
  const minutes = Math.max(1, Math.round(input.ttlSeconds / 60));
  const until = new Date(input.expiresAt * 1000).toUTCString();
  const validity = `This link works once and expires in ${minutes} minute${minutes === 1 ? '' : 's'} (at ${until}).`;
  const ignore = `If you did not try to sign in to ${input.appName}, ignore this email: nobody can sign in without the link.`;
  const text = [
    `Sign in to ${input.appName}`,
    '',
    'Open this link in the browser where you asked to sign in:',
    input.link,
    '',
    `Reading this on another device? Type this code on the sign-in page instead: ${input.shortCode}`,
    '',
    validity,
    ignore,
  ].join('\n');
  const markup = html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign in to ${input.appName}</title></head>
<body style="font-family:system-ui,sans-serif;line-height:1.5;color:#1a1a1a">
<h1 style="font-size:20px">Sign in to ${input.appName}</h1>
<p>Open this link in the browser where you asked to sign in:</p>
<p><a href="${input.link}" style="display:inline-block;padding:10px 16px;background:#1f4fd1;color:#fff;text-decoration:none;border-radius:6px">Sign in to ${input.appName}</a></p>
<p style="word-break:break-all;font-size:13px">${input.link}</p>
<p>Reading this on another device? Type this code on the sign-in page instead:</p>
<p style="font:700 24px/1.2 monospace;letter-spacing:3px">${input.shortCode}</p>
<p>${validity}</p>
<p style="color:#555">${ignore}</p>
</body></html>`;
  return { to: input.to, subject: `Sign in to ${input.appName}`, text, html: markup.toString() };
}
