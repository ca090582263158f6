// Serves the single-page app in public/ (oidc-client-ts in the browser, a public client
// with PKCE, no secret) and tells it its issuer and client_id at /settings.json. The
// server holds no tokens: the page does, in memory (public/app.js explains the choice).
//
//   ADMIN_TOKEN=… npm run example:spa          # registers an app at http://localhost:3000
//   ISSUER=… CLIENT_ID=… npm run example:spa
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { exampleSettings } from '../settings.ts';

const settings = await exampleSettings({
  name: 'Example single-page app',
  defaultPort: 4001,
  redirectPaths: ['/callback', '/silent'],
  postLogoutPaths: ['/signed-out'],
  confidential: false,
});

const library = dirname(createRequire(import.meta.url).resolve('oidc-client-ts/package.json'));
const publicDir = new URL('public/', import.meta.url).pathname;
const page = readFileSync(join(publicDir, 'index.html'));
const files: Record<string, readonly [string, Buffer]> = {
  '/app.js': ['text/javascript', readFileSync(join(publicDir, 'app.js'))],
  '/oidc-client-ts.js': ['text/javascript', readFileSync(join(library, 'dist/browser/oidc-client-ts.min.js'))],
  '/settings.json': ['application/json', Buffer.from(JSON.stringify({ issuer: settings.issuer, client_id: settings.clientId }))],
};
// One page answers every address the app has; app.js does what each is for.
for (const path of ['/', '/callback', '/silent', '/signed-out']) files[path] = ['text/html', page];

const postern = new URL(settings.issuer).origin;
// Scripts from this origin only, requests to Postern only, and in the silent-renew iframe
// Postern and this app's own /silent (where Postern sends the iframe back): what an
// injected script could load, and where it could send tokens, is as small as the app allows.
const CSP = `default-src 'none'; script-src 'self'; connect-src 'self' ${postern}; frame-src 'self' ${postern}; frame-ancestors 'self'; base-uri 'none'; form-action 'none'`;

createServer((req, res) => {
  const file = req.method === 'GET' ? files[new URL(req.url ?? '/', settings.appUrl).pathname] : undefined;
  if (!file) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  res
    .writeHead(200, { 'content-type': file[0], 'cache-control': 'no-store', 'content-security-policy': CSP, 'referrer-policy': 'no-referrer', 'x-content-type-options': 'nosniff' })
    .end(file[1]);
}).listen(settings.port, () => console.log(`Example single-page app at ${settings.appUrl}`));
