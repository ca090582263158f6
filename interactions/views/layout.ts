// Every hosted page goes through this layout: one stylesheet from our own origin (the CSP
// forbids inline styles and all scripts), a heading, semantic HTML that works without
// JavaScript and reads well in a screen reader. The page is where markup becomes the string
// the HTTP layer sends.
import { html, type SafeHtml } from '../../src/text/html.ts';

export function page(input: { title: string; appName?: string | undefined; body: SafeHtml }): string {
  const heading = input.appName && html`<p class="app">${input.appName}</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${input.title}${input.appName && ` – ${input.appName}`}</title>
<link rel="stylesheet" href="/assets/postern.css">
</head>
<body>
<main>
${heading}
<h1>${input.title}</h1>
${input.body}
</main>
</body>
</html>`.toString();
}

export const STYLESHEET = `
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1a1a1a;background:#f4f5f7}
main{max-width:26rem;margin:3rem auto;padding:2rem;background:#fff;border-radius:10px;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.app{margin:0 0 .25rem;color:#555;font-weight:600}
h1{font-size:1.4rem;margin:0 0 1rem}
label{display:block;font-weight:600;margin-bottom:.25rem}
input[type=email],input[type=text]{width:100%;padding:.65rem;font-size:1rem;border:1px solid #888;border-radius:6px}
input:focus,button:focus,a:focus{outline:3px solid #8ab4ff;outline-offset:1px}
button,.button{display:inline-block;width:100%;margin-top:1rem;padding:.7rem;font-size:1rem;font-weight:600;color:#fff;background:#1f4fd1;border:0;border-radius:6px;text-align:center;text-decoration:none;cursor:pointer}
.secondary{background:#e8ebf2;color:#1a1a1a}
.error{color:#a40000;font-weight:600}
.hint{color:#555;font-size:.9rem}
.ref{font-family:ui-monospace,monospace}
.code{font:700 1.8rem/1.2 ui-monospace,monospace;letter-spacing:.15em;text-align:center;margin:1rem 0}
form+form,form+p{margin-top:1rem}
pre{white-space:pre-wrap;word-break:break-all}
@media (max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}
`;
