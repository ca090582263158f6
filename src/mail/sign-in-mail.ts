// The sign-in mail: one absolute link and, in words, how long it works, in the person's
// language and with the app's branding (name, logo, accent, "Back to {app}"). Plain text
// and HTML carry the same content. The HTML part has no scripts; its one remote image is
// the app's own logo (https, with alt text, so a mail program that blocks images still
// reads well). Mail programs ignore stylesheets, hence the inline styles.
import type { Brand } from '../text/brand.ts';
import { DEFAULT_ACCENT, LIGHT_BUTTON_TEXT } from '../text/colour.ts';
import { html } from '../text/html.ts';
import { directionOf, durationIn, messagesFor, type Language } from '../text/language.ts';
import type { MailMessage } from './mailer.ts';

export function signInMail(input: {
  to: string;
  brand: Brand;
  language: Language;
  link: string;
  shortCode: string;
  ttlSeconds: number;
}): MailMessage {
  const { brand, language } = input;
  const t = messagesFor(language);
  const dir = directionOf(language);
  const validity = t.mailValidity(durationIn(language, input.ttlSeconds));
  const subject = t.signInTo(brand.name);
  const text = [
    subject,
    '',
    t.mailIntro,
    input.link,
    '',
    `${t.mailCodeIntro} ${input.shortCode}`,
    '',
    validity,
    t.mailIgnore(brand.name),
    ...(brand.homeUri ? ['', `${t.backTo(brand.name)}: ${brand.homeUri}`] : []),
  ].join('\n');
  const accent = brand.accent ?? DEFAULT_ACCENT;
  const logo =
    brand.logoUri &&
    html`<p><img src="${brand.logoUri}" alt="${t.logoAlt(brand.name)}" width="48" height="48" style="display:block;width:48px;height:48px;object-fit:contain;border:0"></p>`;
  const home = brand.homeUri && html`<p style="font-size:14px"><a href="${brand.homeUri}" style="color:#1a1a1a">${t.backTo(brand.name)}</a></p>`;
  const markup = html`<!doctype html><html lang="${language}" dir="${dir}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light only">
<title>${subject}</title></head>
<body style="margin:0;padding:16px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;line-height:1.5;color:#1a1a1a;background:#ffffff">
<div style="max-width:480px;margin:0 auto">
${logo}
<h1 style="font-size:20px">${subject}</h1>
<p>${t.mailIntro}</p>
<p><a href="${input.link}" style="display:inline-block;padding:10px 16px;background:${accent};color:${LIGHT_BUTTON_TEXT};text-decoration:none;border-radius:6px;font-weight:600">${subject}</a></p>
<p style="font-size:13px;color:#555">${t.mailFallback}</p>
<p style="font-size:13px;font-family:ui-monospace,monospace;overflow-wrap:anywhere;word-break:normal" dir="ltr">${input.link}</p>
<p>${t.mailCodeIntro}</p>
<p style="font:700 24px/1.2 ui-monospace,monospace;letter-spacing:3px" dir="ltr">${input.shortCode}</p>
<p>${validity}</p>
<p style="color:#555">${t.mailIgnore(brand.name)}</p>
${home}
</div>
</body></html>`;
  return { to: input.to, subject, text, html: markup.toString() };
}
