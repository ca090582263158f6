// A server-rendered web app signing people in with Postern (Koa + openid-client), the
// "backend for frontend" pattern: tokens never reach the browser. The browser holds one
// opaque session id in a cookie that scripts cannot read (HttpOnly), that travels over
// HTTPS only (Secure; browsers also accept it from http://localhost), that is never sent
// along with another site's requests except top-level links (SameSite=Lax: the redirect back
// from Postern is one) and that is bound to this origin (the __Host- prefix). It shows:
// sign-in (code flow, PKCE, state, nonce), refreshing access tokens, calling an API,
// sign-out (RP-initiated logout) and "sign out everywhere" (Postern's revoke_all).
//
//   ADMIN_TOKEN=… npm run example:web          # registers an app at http://localhost:3000
//   ISSUER=… CLIENT_ID=… CLIENT_SECRET=… npm run example:web
//   API_URL=http://localhost:4002 …            # also call examples/api
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import * as client from 'openid-client';
import { escapeHtml, exampleSettings } from '../settings.ts';

const settings = await exampleSettings({
  name: 'Example web app',
  defaultPort: 4000,
  redirectPaths: ['/callback'],
  postLogoutPaths: ['/signed-out'],
  confidential: true,
});
const apiUrl = process.env.API_URL?.replace(/\/$/, '');
const oidc = await client.discovery(
  new URL(settings.issuer),
  settings.clientId,
  undefined,
  client.ClientSecretBasic(settings.clientSecret!),
  // Plain http is for a Postern on this machine only; production issuers are https.
  settings.issuer.startsWith('http://') ? { execute: [client.allowInsecureRequests] } : undefined,
);

// ---- Sessions: server-side, the browser gets only a random id -----------------------
interface Tokens {
  readonly idToken: string;
  readonly accessToken: string;
  readonly refreshToken: string | undefined;
  readonly accessExpiresAt: number;
}
interface Session {
  readonly csrf: string;
  lastSeen: number;
  login?: { readonly state: string; readonly nonce: string; readonly verifier: string };
  user?: { readonly sub: string; readonly email: string };
  tokens?: Tokens;
  refreshing?: Promise<void> | undefined;
}

const COOKIE = '__Host-session';
const IDLE_MS = 8 * 60 * 60 * 1000;
// In memory for the example; a real app keeps sessions in its database or Redis.
const sessions = new Map<string, Session>();

function sessionOf(ctx: Context): Session | undefined {
  const id = ctx.cookies.get(COOKIE);
  const session = id === undefined ? undefined : sessions.get(id);
  if (!session || Date.now() - session.lastSeen > IDLE_MS) return undefined;
  session.lastSeen = Date.now();
  return session;
}

function startSession(ctx: Context): Session {
  const id = randomBytes(32).toString('base64url');
  const session: Session = { csrf: randomBytes(32).toString('base64url'), lastSeen: Date.now() };
  sessions.set(id, session);
  ctx.append('Set-Cookie', `${COOKIE}=${id}; Path=/; HttpOnly; Secure; SameSite=Lax`);
  return session;
}

function endSession(ctx: Context): void {
  const id = ctx.cookies.get(COOKIE);
  if (id !== undefined) sessions.delete(id);
  ctx.append('Set-Cookie', `${COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=0`);
}

function keepTokens(session: Session, response: client.TokenEndpointResponse, previous?: Tokens): void {
  session.tokens = {
    idToken: response.id_token ?? previous!.idToken,
    accessToken: response.access_token,
    // Postern rotates refresh tokens: always keep the newest one.
    refreshToken: response.refresh_token ?? previous?.refreshToken,
    accessExpiresAt: Date.now() + (response.expires_in ?? 60) * 1000,
  };
}

/** A current access token, refreshed when it is about to expire; undefined when the session is over. */
async function accessToken(session: Session): Promise<string | undefined> {
  const tokens = session.tokens;
  if (!tokens) return undefined;
  if (Date.now() < tokens.accessExpiresAt - 30_000) return tokens.accessToken;
  if (!tokens.refreshToken) return undefined;
  // One refresh at a time per session: a refresh token is spent by its first use.
  session.refreshing ??= client
    .refreshTokenGrant(oidc, tokens.refreshToken)
    .then((response) => keepTokens(session, response, tokens))
    .finally(() => (session.refreshing = undefined));
  await session.refreshing;
  return session.tokens?.accessToken;
}

// ---- Pages ---------------------------------------------------------------------------
function page(ctx: Context, status: number, title: string, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  // No scripts at all; forms post here and may be redirected on to Postern.
  ctx.set('Content-Security-Policy', `default-src 'none'; form-action 'self' ${new URL(settings.issuer).origin}; base-uri 'none'; frame-ancestors 'none'`);
  ctx.set('Referrer-Policy', 'no-referrer');
  ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
}

const form = (session: Session, action: string, label: string) =>
  `<form method="post" action="${action}"><input type="hidden" name="csrf" value="${session.csrf}"><button type="submit">${label}</button></form>`;

/** The form's fields when it came from this app's own page (CSRF token) and is small; else undefined. */
async function ownForm(ctx: Context, session: Session): Promise<URLSearchParams | undefined> {
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 8192) return undefined;
    chunks.push(chunk);
  }
  const fields = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
  const sent = Buffer.from(fields.get('csrf') ?? '');
  const expected = Buffer.from(session.csrf);
  return sent.length === expected.length && timingSafeEqual(sent, expected) ? fields : undefined;
}

// ---- Routes ----------------------------------------------------------------------------
const router = new Router();

router.get('/', (ctx) => {
  const session = sessionOf(ctx);
  if (!session?.user) return page(ctx, 200, 'Signed out', '<p><a href="/login">Sign in</a></p>');
  page(
    ctx,
    200,
    'Signed in',
    `<p>Email: <output id="email">${escapeHtml(session.user.email)}</output></p>
<p><a href="/profile">Profile (UserInfo)</a>${apiUrl ? ' · <a href="/things">Things (the API)</a>' : ''}</p>
${form(session, '/logout', 'Sign out')}
${form(session, '/logout-everywhere', 'Sign out everywhere')}`,
  );
});

router.get('/login', (ctx) => {
  const session = sessionOf(ctx) ?? startSession(ctx);
  const login = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
  session.login = login;
  return client.calculatePKCECodeChallenge(login.verifier).then((challenge) => {
    ctx.redirect(
      client.buildAuthorizationUrl(oidc, {
        redirect_uri: `${settings.appUrl}/callback`,
        scope: 'openid email offline_access',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        state: login.state,
        nonce: login.nonce,
      }).href,
    );
  });
});

router.get('/callback', async (ctx) => {
  const session = sessionOf(ctx);
  const login = session?.login;
  if (!session || !login) return page(ctx, 400, 'Sign-in failed', '<p>This sign-in was not started here, or is already finished. <a href="/login">Sign in</a></p>');
  session.login = undefined; // one callback per sign-in: a replayed one finds nothing
  let response: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers;
  try {
    response = await client.authorizationCodeGrant(oidc, new URL(ctx.originalUrl, settings.appUrl), {
      pkceCodeVerifier: login.verifier,
      expectedState: login.state,
      expectedNonce: login.nonce,
      idTokenExpected: true,
    });
  } catch (err) {
    const reason = (err as { error?: string }).error ?? (err as Error).message;
    return page(ctx, 400, 'Sign-in failed', `<p>${escapeHtml(reason)}. <a href="/login">Try again</a></p>`);
  }
  const claims = response.claims()!;
  // A new session id at sign-in: an id someone planted before (session fixation) is worth nothing.
  endSession(ctx);
  const signedIn = startSession(ctx);
  signedIn.user = { sub: claims.sub, email: String(claims.email ?? claims.sub) };
  keepTokens(signedIn, response);
  ctx.redirect('/');
});

/** The signed-in session with a usable access token, or a "signed out" page (and the session ended). */
async function signedIn(ctx: Context): Promise<{ session: Session; token: string } | undefined> {
  const session = sessionOf(ctx);
  const token = session && (await accessToken(session).catch(() => undefined));
  if (session && token) return { session, token };
  endSession(ctx);
  page(ctx, 401, 'Signed out', '<p>Your session has ended. <a href="/login">Sign in</a></p>');
  return undefined;
}

router.get('/profile', async (ctx) => {
  const current = await signedIn(ctx);
  if (!current) return;
  try {
    const info = await client.fetchUserInfo(oidc, current.token, current.session.user!.sub);
    page(ctx, 200, 'Profile', `<p>Email: <output id="userinfo-email">${escapeHtml(String(info.email))}</output></p><p><a href="/">Back</a></p>`);
  } catch {
    // Revoked (signed out everywhere, or by an admin): the session is over here too.
    endSession(ctx);
    page(ctx, 401, 'Signed out', '<p>Your session has ended. <a href="/login">Sign in</a></p>');
  }
});

if (apiUrl) {
  router.get('/things', async (ctx) => {
    const current = await signedIn(ctx);
    if (!current) return;
    const answer = await fetch(`${apiUrl}/things`, { headers: { authorization: `Bearer ${current.token}` } });
    page(ctx, answer.ok ? 200 : 502, 'Things', `<pre id="api-answer">${escapeHtml(await answer.text())}</pre><p><a href="/">Back</a></p>`);
  });
}

// Sign out of this app: end the session here, revoke this device's refresh token, and let
// Postern end its session (it asks the person to confirm, then returns to /signed-out).
router.post('/logout', async (ctx) => {
  const session = sessionOf(ctx);
  if (!session || !(await ownForm(ctx, session))) return page(ctx, 403, 'Not signed out', '<p>That request did not come from this app. <a href="/">Back</a></p>');
  const tokens = session.tokens;
  endSession(ctx);
  if (tokens?.refreshToken) await client.tokenRevocation(oidc, tokens.refreshToken, { token_type_hint: 'refresh_token' }).catch(() => {});
  ctx.status = 303;
  ctx.redirect(
    client.buildEndSessionUrl(oidc, {
      post_logout_redirect_uri: `${settings.appUrl}/signed-out`,
      ...(tokens ? { id_token_hint: tokens.idToken } : {}),
    }).href,
  );
});

// Sign out everywhere: every session and token of this person in this app, on every device.
router.post('/logout-everywhere', async (ctx) => {
  const session = sessionOf(ctx);
  if (!session || !(await ownForm(ctx, session))) return page(ctx, 403, 'Not signed out', '<p>That request did not come from this app. <a href="/">Back</a></p>');
  const token = session.tokens?.refreshToken ?? session.tokens?.accessToken;
  endSession(ctx);
  if (!token) return page(ctx, 200, 'Signed out', '<p><a href="/login">Sign in</a></p>');
  // HTTP Basic as RFC 6749 §2.3.1 spells it: each part form-encoded first.
  const formEncoded = (text: string) => new URLSearchParams({ x: text }).toString().slice(2);
  const basic = Buffer.from(`${formEncoded(settings.clientId)}:${formEncoded(settings.clientSecret!)}`).toString('base64');
  const answer = await fetch(String(oidc.serverMetadata().revoke_all_endpoint), {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }),
  });
  const result = (await answer.json()) as { sessions_ended?: number; error?: string };
  if (!answer.ok) return page(ctx, 502, 'Sign-out everywhere failed', `<p>${escapeHtml(result.error ?? String(answer.status))}</p>`);
  page(ctx, 200, 'Signed out everywhere', `<p>Sessions ended: <output id="sessions-ended">${Number(result.sessions_ended)}</output>. <a href="/login">Sign in</a></p>`);
});

router.get('/signed-out', (ctx) => page(ctx, 200, 'Signed out', '<p>You are signed out. <a href="/login">Sign in</a></p>'));

const app = new Koa();
app.use(async (ctx, next) => {
  try {
    await next();
  } catch (err) {
    console.error(err);
    page(ctx, 500, 'Something went wrong', '<p><a href="/">Back</a></p>');
  }
});
app.use(router.routes()).use(router.allowedMethods());
app.listen(settings.port, () => console.log(`Example web app at ${settings.appUrl}`));
