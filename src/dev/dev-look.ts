// What the development pages add to the hosted pages' look: a wider page for tables and
// mail, text that wraps at word boundaries. Served from our origin like the hosted
// stylesheet, since the CSP allows no inline style.
import { html } from '../text/html.ts';

export const DEV_STYLESHEET_PATH = '/dev/assets/dev.css';

export const DEV_STYLESHEET = `
main{max-width:52rem}
h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{text-align:left;vertical-align:top;padding:.35rem .5rem;border-top:1px solid #e3e5ea}
code,.mono{font-family:ui-monospace,monospace;overflow-wrap:anywhere}
.routes code{white-space:nowrap}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dt{font-weight:600}
dd{margin:0;overflow-wrap:anywhere}
.entries{list-style:none;margin:0;padding:0}
.entry{border-top:1px solid #e3e5ea;padding:1rem 0}
.entry h2{margin:.25rem 0}
.entry pre{white-space:pre-wrap;word-break:normal;overflow-wrap:anywhere;background:#f7f8fa;padding:.75rem;border-radius:6px;margin:.5rem 0}
.tag{display:inline-block;font-size:.8rem;font-weight:600;padding:0 .45rem;border-radius:4px;background:#e8ebf2}
.tag.refused{background:#fde8e8;color:#a40000}
.actions{display:flex;gap:.75rem;flex-wrap:wrap;align-items:center}
.actions .button{width:auto;margin-top:0}
.filters{display:flex;gap:.75rem;flex-wrap:wrap;align-items:end}
.filters div{flex:1 1 12rem}
.filters select{width:100%;padding:.6rem;font-size:1rem;border:1px solid #888;border-radius:6px;background:#fff}
.filters button{width:auto;margin-top:0}
`;

/** The development stylesheet: a link in the body is valid HTML, so the shared layout stays as it is. */
export const devStyles = () => html`<link rel="stylesheet" href="${DEV_STYLESHEET_PATH}">`;

/** A time as developers read it in logs: UTC, to the second. */
export function when(at: number): string {
  return `${new Date(at).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
