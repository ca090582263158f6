// Every hosted page goes through this layout: our own stylesheets (the CSP forbids inline
// styles and all scripts), the app's name and logo, a heading, semantic HTML that works
// without JavaScript and reads well in a screen reader, in the person's language and
// writing direction, and a footer with the app's links. The page is where markup becomes
// the string the HTTP layer sends.
import type { Brand } from '../../src/text/brand.ts';
import { accentRules, DEFAULT_ACCENT } from '../../src/text/colour.ts';
import { html, type SafeHtml } from '../../src/text/html.ts';
import { DEFAULT_LANGUAGE, directionOf, messagesFor, type Language, type Messages } from '../../src/text/language.ts';

/** Who a page is for: the app it shows and the language it speaks. */
export interface Presentation {
  readonly brand: Brand;
  readonly language: Language;
}

/** Postern's own pages (no app): its name, English unless the caller knows better. */
export const NO_APP: Presentation = { brand: { name: 'Postern' }, language: DEFAULT_LANGUAGE };

export const text = (p: Presentation): Messages => messagesFor(p.language);

/** The stylesheet that paints a page in the app's colour (root-routes.ts serves it). */
export const accentStylesheetPath = (hex: string) => `/assets/accent/${hex.slice(1)}.css`;
export const FAVICON_PATH = '/assets/favicon.svg';

function footer(p: Presentation, t: Messages): SafeHtml | undefined {
  const { brand } = p;
  const support = brand.supportUri ?? (brand.supportEmail && `mailto:${brand.supportEmail}`);
  const links = [
    brand.homeUri && html`<li><a href="${brand.homeUri}">${t.backTo(brand.name)}</a></li>`,
    brand.policyUri && html`<li><a href="${brand.policyUri}">${t.privacy}</a></li>`,
    brand.tosUri && html`<li><a href="${brand.tosUri}">${t.terms}</a></li>`,
    support && html`<li><a href="${support}">${t.support}</a></li>`,
  ].filter(Boolean);
  return links.length ? html`<footer><nav aria-label="${brand.name}"><ul>${links}</ul></nav></footer>` : undefined;
}

/**
 * The way on from a page that ends a path: start a new sign-in at the app when it says
 * where, else back to its home page, else in words.
 */
export function nextStep(p: Presentation): SafeHtml {
  const t = text(p);
  const { brand } = p;
  if (brand.restartUri) return html`<a class="button" href="${brand.restartUri}">${t.signInAgain}</a>`;
  if (brand.homeUri) return html`<a class="button" href="${brand.homeUri}">${t.backTo(brand.name)}</a>`;
  return html`<p class="hint">${t.goBackHint(brand.name)}</p>`;
}

export function page(input: { title: string; body: SafeHtml; presentation?: Presentation | undefined; head?: SafeHtml | undefined }): string {
  const p = input.presentation ?? NO_APP;
  const t = text(p);
  const { brand } = p;
  const own = p.brand === NO_APP.brand;
  const logo = brand.logoUri && html`<img class="logo" src="${brand.logoUri}" alt="${t.logoAlt(brand.name)}" width="40" height="40">`;
  const heading = !own && html`<header class="brand">${logo}<p class="app">${brand.name}</p></header>`;
  const suffix = !own && !input.title.includes(brand.name) && ` – ${brand.name}`;
  return html`<!doctype html>
<html lang="${p.language}" dir="${directionOf(p.language)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light dark">
<title>${input.title}${suffix}</title>
<link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml">
<link rel="stylesheet" href="/assets/postern.css">
${brand.accent && html`<link rel="stylesheet" href="${accentStylesheetPath(brand.accent)}">`}
${input.head}
</head>
<body>
<main>
${heading}
<h1>${input.title}</h1>
${input.body}
</main>
${footer(p, t)}
</body>
</html>`.toString();
}

// Light by default, dark when the browser prefers it; every colour pair meets WCAG AA
// (text 4.5:1, focus ring and field borders 3:1) in both. The accent comes last, from
// colour.ts, so an app's accent stylesheet can override it.
export const STYLESHEET = `
:root{--bg:#f4f5f7;--card:#fff;--text:#1a1a1a;--muted:#555;--border:#767676;--error:#a40000;--secondary:#e8ebf2;--on-secondary:#1a1a1a;--ok-bg:#e7f4ea}
@media (prefers-color-scheme:dark){:root{--bg:#111317;--card:#1c1f24;--text:#e8eaed;--muted:#b4b9c2;--border:#8b919b;--error:#ff9d94;--secondary:#2e333b;--on-secondary:#e8eaed;--ok-bg:#1f3325}}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","Noto Sans Arabic",sans-serif;color:var(--text);background:var(--bg)}
main{max-width:26rem;margin:3rem auto 1rem;padding:2rem;background:var(--card);border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12);overflow-wrap:anywhere}
a{color:var(--accent)}
.brand{display:flex;align-items:center;gap:.75rem;margin:0 0 .5rem}
.logo{width:40px;height:40px;object-fit:contain;flex:none}
.app{margin:0;color:var(--muted);font-weight:600}
h1{font-size:1.4rem;line-height:1.3;margin:0 0 1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input[type=email],input[type=text]{width:100%;padding:.65rem;font:inherit;color:var(--text);background:var(--card);border:1px solid var(--border);border-radius:6px}
:focus-visible,input:focus{outline:3px solid var(--accent);outline-offset:2px}
button,.button{display:block;width:100%;margin-top:1rem;padding:.7rem;font:inherit;font-weight:600;line-height:1.4;color:var(--on-accent);background:var(--accent);border:0;border-radius:6px;text-align:center;text-decoration:none;cursor:pointer}
.secondary{background:var(--secondary);color:var(--on-secondary)}
.error{color:var(--error);font-weight:600}
.sent{padding:.5rem .75rem;border-radius:6px;background:var(--ok-bg)}
.hint{color:var(--muted);font-size:.9rem}
.ref,.link{font-family:ui-monospace,monospace}
.code{font:700 1.8rem/1.2 ui-monospace,monospace;letter-spacing:.15em;text-align:center;margin:1rem 0;direction:ltr}
form+form,form+p,p+.button{margin-top:1rem}
footer{max-width:26rem;margin:0 auto 3rem;padding:0 2rem;font-size:.9rem}
footer ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}
footer a{color:var(--text)}
pre{white-space:pre-wrap;word-break:break-all}
@media (max-width:30rem){main{margin:0;border-radius:0;box-shadow:none;padding:1.5rem 1.25rem}footer{margin:1rem 0 2rem;padding:0 1.25rem}}
${accentRules(DEFAULT_ACCENT)}`;

/** The favicon: an envelope in Postern's blue, readable on light and dark tabs. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="${DEFAULT_ACCENT}"/><path d="M7 10h18v12H7z" fill="#fff"/><path d="M7 10l9 7 9-7" fill="none" stroke="${DEFAULT_ACCENT}" stroke-width="2"/></svg>`;
