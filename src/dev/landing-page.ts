// GET / outside production: what is running and where to go next. Development only, so it
// may name apps and routes; nothing on it is a secret (the admin token never is shown).
import { page } from '../../interactions/views/layout.ts';
import { html } from '../text/html.ts';
import { devStyles } from './dev-look.ts';

export interface RunningInstance {
  readonly version: string;
  readonly env: string;
  readonly publicUrl: string;
  readonly storage: string;
  /** How sign-in mail leaves, without credentials. */
  readonly mailTransport: string;
  /** The development mailbox is mounted (always outside production). */
  readonly mailboxPath: string;
  /** /metrics answers without a token. */
  readonly metricsOpen: boolean;
}

export interface LandingApp {
  readonly id: string;
  readonly name: string;
  readonly issuer: string;
}

export interface AdminRoute {
  readonly method: string;
  readonly path: string;
  readonly summary: string;
}

/** `moreApps`: there are apps beyond those listed (the page shows the oldest DEV_APPS_SHOWN). */
export function landingPage(input: { running: RunningInstance; apps: readonly LandingApp[]; moreApps?: boolean; adminRoutes: readonly AdminRoute[] }): string {
  const { running } = input;
  const apps = input.apps.length
    ? html`<table>
<thead><tr><th scope="col">App</th><th scope="col">Issuer</th><th scope="col">Discovery</th></tr></thead>
<tbody>${input.apps.map(
        (app) => html`
<tr><td>${app.name}<br><code>${app.id}</code></td><td><code>${app.issuer}</code></td><td><a href="${`${app.issuer}/.well-known/openid-configuration`}">openid-configuration</a></td></tr>`,
      )}
</tbody>
</table>${input.moreApps ? html`
<p class="hint">The oldest ${input.apps.length} apps; page through all of them with <code>GET /admin/apps</code>.</p>` : ''}`
    : html`<p>No apps yet. Create one with <code>POST /admin/apps</code> (the start-up banner prints a <code>curl</code> command).</p>`;
  return page({
    title: 'Postern (development)',
    body: html`${devStyles()}
<p class="hint">This page, like the mailbox, exists outside production only; in production <code>/</code> is not found.</p>
<h2>Running</h2>
<dl>
<dt>Version</dt><dd>${running.version}</dd>
<dt>NODE_ENV</dt><dd>${running.env}</dd>
<dt>PUBLIC_URL</dt><dd><code>${running.publicUrl}</code></dd>
<dt>Store</dt><dd>${running.storage}</dd>
<dt>Mail</dt><dd>${running.mailTransport}</dd>
</dl>
<h2>Apps</h2>
${apps}
<h2>Development</h2>
<ul>
<li><a href="${running.mailboxPath}">Mailbox</a>: sign-in mail, refused link requests and mail not sent, per app and address.</li>
${running.metricsOpen && html`<li><a href="/metrics">Metrics</a> (open without a token outside production; set <code>METRICS_TOKEN</code> to require one).</li>`}
<li><a href="/readyz">Readiness</a>: whether every store answers.</li>
</ul>
<h2>Admin API</h2>
<p>Every route needs <code>Authorization: Bearer $ADMIN_TOKEN</code>. Fields, errors and examples are in
<code>docs/admin-api.md</code> in the repository, and in the OpenAPI document at <code>GET /admin/openapi.json</code> (with the token).</p>
<table class="routes">
<thead><tr><th scope="col">Method</th><th scope="col">Path</th><th scope="col">What it does</th></tr></thead>
<tbody>${input.adminRoutes.map((r) => html`
<tr><td class="mono">${r.method}</td><td><code>${r.path}</code></td><td>${r.summary}</td></tr>`)}
</tbody>
</table>`,
  });
}
