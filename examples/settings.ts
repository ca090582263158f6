// What every example needs to know about its Postern app, from the environment:
//   ISSUER, CLIENT_ID (and CLIENT_SECRET for a confidential app): an app you created;
// or, to try an example with one command, ADMIN_TOKEN (and POSTERN_URL, default
// http://localhost:3000): the example registers an app for itself through the admin API and
// prints the three values to reuse next time. PORT and APP_URL say where the example runs.
export interface ExampleSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly port: number;
  /** The example's own origin, e.g. http://localhost:4000. */
  readonly appUrl: string;
}

export interface ExampleApp {
  readonly name: string;
  readonly defaultPort: number;
  /** Paths under APP_URL registered as redirect URIs, and as post-logout redirect URIs. */
  readonly redirectPaths: readonly string[];
  readonly postLogoutPaths: readonly string[];
  /** Confidential (client_secret_basic) for apps with a back end; public (PKCE only) for SPAs. */
  readonly confidential: boolean;
}

export async function exampleSettings(app: ExampleApp, env = process.env): Promise<ExampleSettings> {
  const port = Number(env.PORT ?? app.defaultPort);
  const appUrl = (env.APP_URL ?? `http://localhost:${port}`).replace(/\/$/, '');
  if (env.ISSUER && env.CLIENT_ID) {
    if (app.confidential && !env.CLIENT_SECRET) throw new Error('CLIENT_SECRET is required: this example is a confidential client');
    return { issuer: env.ISSUER.replace(/\/$/, ''), clientId: env.CLIENT_ID, clientSecret: env.CLIENT_SECRET, port, appUrl };
  }
  if (!env.ADMIN_TOKEN) {
    throw new Error('Set ISSUER and CLIENT_ID (and CLIENT_SECRET) of your app, or ADMIN_TOKEN to let the example register one at POSTERN_URL (default http://localhost:3000).');
  }
  const postern = (env.POSTERN_URL ?? 'http://localhost:3000').replace(/\/$/, '');
  const response = await fetch(`${postern}/admin/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${env.ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      name: app.name,
      redirect_uris: app.redirectPaths.map((p) => appUrl + p),
      post_logout_redirect_uris: app.postLogoutPaths.map((p) => appUrl + p),
      token_endpoint_auth_method: app.confidential ? 'client_secret_basic' : 'none',
    }),
  });
  const created = (await response.json()) as { issuer?: string; client_id?: string; client_secret?: string; error_description?: string };
  if (response.status !== 201 || !created.issuer || !created.client_id) {
    throw new Error(`Registering the app at ${postern} failed: ${response.status} ${created.error_description ?? ''}`);
  }
  const reuse = [`ISSUER=${created.issuer}`, `CLIENT_ID=${created.client_id}`, ...(created.client_secret ? [`CLIENT_SECRET=${created.client_secret}`] : [])];
  console.log(`Registered "${app.name}" at Postern. To reuse it next time, start with:\n  ${reuse.join(' ')}`);
  return { issuer: created.issuer, clientId: created.client_id, clientSecret: created.client_secret, port, appUrl };
}

/** Text for HTML: the examples build pages from strings, so every value goes through this. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
