// The fence around oidc-provider (the engine). Postern drives the engine through its
// documented configuration (provider-config.ts, shared-configuration.ts). Whatever else it
// relies on, behaviour the engine does not promise, is written down here as a numbered
// assumption, and no other file depends on it: they import the helpers below.
//
// test/engine/assumptions.test.ts checks every assumption against a real Provider over
// HTTP, so an upgrade that changes one fails there first (docs/upgrading-oidc-provider.md).
import { AsyncLocalStorage } from 'node:async_hooks';
import * as querystring from 'node:querystring';
import type { ParsedUrlQuery } from 'node:querystring';
import type { KeyObject } from 'node:crypto';
import { decodeProtectedHeader, exportJWK, generateKeyPair } from 'jose';
import type { Context, Middleware, Next } from 'koa';
import Provider, { errors, ExternalSigningKey, interactionPolicy, type Adapter, type ClientMetadata, type KoaContextWithOIDC } from 'oidc-provider';
import { PosternError } from '../errors.ts';
import { StoreUnavailableError } from '../storage/ports.ts';
import { cookieKeysFor, type CookieKeys } from '../keys/cookie-keys.ts';
import { peekBody, replaceBody } from '../http/read-body.ts';
import { SIGNING_ALGS } from '../apps/client-options.ts';
import { AUTHORIZATION_PATH, END_SESSION_PATH, INTROSPECTION_PATH, PAR_PATH, sharedConfiguration } from './shared-configuration.ts';

/**
 * A1 Bodies. The engine reads a POST body itself, from the request stream, at most this
 * many bytes (lib/shared/selective_body.js). A larger body is its vague 400 "failed to
 * parse the request body"; when no Content-Length announced the size, it stops reading at
 * the limit and answers while the client is still uploading. A body already read by
 * someone upstream makes it fall back to `req.body` and print a warning. So nothing before
 * the engine consumes the stream (src/http/engine-guard.ts refuses what the engine cannot
 * read well, and where Postern must look at a body first, it puts the bytes back).
 */
export const ENGINE_BODY_LIMIT = 56 * 1024;

/**
 * A2 Unknown paths. A request the engine has no route for is passed on to the middleware
 * after it; with none there, it ends as Koa's default 404 without a body.
 */
export function engineHadNoRoute(ctx: Context): boolean {
  return ctx.status === 404 && ctx.body == null;
}

/**
 * A3 at_hash. Before it signs an ID token, the engine replaces the value of an `at_hash`
 * claim with the OpenID Connect hash of that value (left half of the digest of the ID
 * token's algorithm, base64url; models/id_token.js), but adds the claim itself only to
 * front-channel ID tokens. Given the access token issued alongside (an opaque access
 * token's value is its jti), the claim comes out right in the token endpoint's ID tokens.
 * A JWT access token's value is not its jti (A26), and the token model does not keep it:
 * beside one, the ID token carries no at_hash (optional in the code flow, OpenID Connect
 * Core §3.1.3.6).
 */
export function accessTokenHashClaim(ctx: KoaContextWithOIDC | undefined): { at_hash?: string } {
  const token = ctx?.oidc?.entities?.AccessToken as { jti?: string; resourceServer?: { accessTokenFormat?: string } } | undefined;
  if (!token?.jti || token.resourceServer?.accessTokenFormat === 'jwt') return {};
  return { at_hash: token.jti };
}

/**
 * A4 sid. The engine puts `sid` in an ID token only for clients registered for
 * back-channel logout. The authorization code or refresh token being exchanged carries
 * the uid of the session it came from (`sessionUid`), and that session knows the sid it
 * assigned to the client (`Session.findByUid`, `sidFor`).
 */
export async function sessionIdClaim(ctx: KoaContextWithOIDC | undefined): Promise<{ sid?: string }> {
  const source = (ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken) as { sessionUid?: string } | undefined;
  const clientId = ctx?.oidc?.client?.clientId;
  if (!source?.sessionUid || !clientId) return {};
  const session = await ctx.oidc.provider.Session.findByUid(source.sessionUid);
  const sid = session?.sidFor(clientId);
  return sid ? { sid } : {};
}

/**
 * A5 Signing key. Of the keys in `jwks.keys` that fit an algorithm, the engine signs with
 * the first listed one (KeyStore.selectForSign filters in array order and sorts stably by
 * a score that is equal for keys that all carry `alg` and `use`); every key is published
 * in the JWKS and verifies. So the `jwks` configuration is the keys in order of
 * preference, the key that should sign first among its algorithm's
 * (src/keys/key-ring.ts, publishedKeys).
 */
export function jwksInPreferenceOrder(keys: readonly (Record<string, unknown> | ExternalSigningKey)[]): { keys: never } {
  return { keys: [...keys] as never };
}

/**
 * The engine's experimental `features.externalSigningSupport`, acknowledged at the version
 * these assumptions were checked against (an unacknowledged one prints a notice; a changed
 * one refuses to start, which is the moment to check A36–A38 again).
 */
export const EXTERNAL_SIGNING = { enabled: true, ack: 'experimental-01' } as const;

/** What signs for an ExternalSigningKey: the key's kid and public half, and its signature. */
export interface OutsideSigner {
  readonly kid: string;
  readonly publicKey: KeyObject;
  sign(data: Uint8Array): Promise<Buffer>;
}

/**
 * A36 External keys in the JWKS. An ExternalSigningKey in `jwks.keys` (with EXTERNAL_SIGNING)
 * takes the place of a private JWK: its `kid` and `alg` getters are read, never assigned
 * when both are set and fit the key, and the JWKS publishes them with the public members
 * of `keyObject()`, read synchronously (helpers/keystore.js, so it must return a KeyObject,
 * not the promise the types allow). It is selected for signing like a JWK (A5).
 *
 * A37 Every JWS the engine makes with it (ID tokens, signed userinfo and introspection
 * responses) is one `sign(input)` call, `input` the ASCII bytes of
 * `base64url(header).base64url(payload)` with the key's kid in the header; the bytes
 * returned are the JWS signature as they are (raw r||s for ES512), unchecked.
 *
 * A38 When the engine verifies a JWT it signed itself (an `id_token_hint` at end-session),
 * it verifies with `keyObject()`: the public KeyObject.
 */
export function externalSigningKey(alg: string, signer: OutsideSigner): ExternalSigningKey {
  return new (class extends ExternalSigningKey {
    override get kid() {
      return signer.kid;
    }
    override get alg() {
      return alg;
    }
    override keyObject() {
      return signer.publicKey;
    }
    override sign(data: Uint8Array) {
      return signer.sign(data);
    }
  })();
}

/**
 * A6 Inline script hash. The engine's self-submitting pages (form_post responses, and the
 * sign-out confirmation when there is no session) carry one inline script. When the
 * response already has a Content-Security-Policy with a `script-src` directive, the engine
 * appends `'sha256-…'` of that script to it and writes the policy back, directives joined
 * by ";" (helpers/script_src_sha.js). So Postern's policy is set before the engine runs,
 * and tidied after with this: `'none'` may not stand beside a hash.
 */
export function policyAfterEngine(policy: string): string {
  return policy
    .split(';')
    .map((d) => d.trim())
    .filter(Boolean)
    .map((d) => (/^script-src\s/.test(d) && d.includes("'sha256-") ? d.replace(/\s'none'/, '') : d))
    .join('; ');
}

/**
 * A7 Outages. An engine OAuth error thrown from the adapter or from findAccount is
 * answered with its `error` and its `status`, whatever the endpoint: JSON on the API
 * endpoints, renderError (provider-config.ts) on pages. A store outage thus becomes 503
 * temporarily_unavailable, and the engine logs nothing of it as a server error.
 */
export function unavailable(err: unknown): never {
  if (err instanceof StoreUnavailableError) retryShortly(err);
  throw err;
}

/**
 * A7's 503 temporarily_unavailable, also for a Provider built before the write that gave
 * its app the keys a client it finds signs with (client-models.ts): it is being rebuilt.
 */
export function retryShortly(cause: unknown): never {
  const mapped = new errors.TemporarilyUnavailable('the authorization server is temporarily unavailable, try again shortly');
  Object.assign(mapped, { status: 503, statusCode: 503, cause });
  throw mapped;
}

/**
 * The engine's models used by Postern itself, outside the engine's routes (A13, A14): a
 * store outage surfaces as the store's own error again, which Postern's error handler
 * answers with 503 (the engine's mapped error would read there as a plain 4xx).
 */
export async function outsideEngineRoutes<T>(read: Promise<T>): Promise<T> {
  try {
    return await read;
  } catch (err) {
    const cause = (err as { cause?: unknown } | null)?.cause;
    throw cause instanceof StoreUnavailableError ? cause : err;
  }
}

/**
 * A8 Refresh token use. While it handles a request, `Provider.ctx` is that request's
 * context, whose `oidc.route` is 'token' at the token endpoint. There the refresh grant
 * reads the token (adapter `find`), treats it as a replay if what it read is `consumed`
 * (and revokes the whole grant), and otherwise calls the adapter's `consume` before it
 * issues anything: a consume that resolves lets it issue a successor (also for a token
 * already used, which the adapter reported unused), and a consume that throws
 * invalid_grant stops the grant with nothing issued and nothing revoked. adapter.ts
 * builds its reuse window on it.
 */
export function readingAtTokenEndpoint(): boolean {
  return Provider.ctx?.oidc?.route === 'token';
}

/**
 * A9 Authorization parameters. The engine reads the parameters of an authorization request
 * from Koa's `ctx.query` as the middleware before it (`provider.use`) left it at GET (and
 * HEAD) {issuer}/auth, in every spelling it routes there (A17), and from the form body
 * (A17) at the pushed authorization request endpoint, POST {issuer}/request (PAR). It drops
 * offline_access unless the prompt includes consent (OpenID Connect Core §11), and the PAR
 * endpoint stores the parameters as they are after that, for the authorization request
 * that names them. (POST {issuer}/auth never reaches the engine: posted-request.ts.)
 *
 * A15 End-session parameters. At GET (and HEAD) {issuer}/session/end the engine reads its
 * parameters from `ctx.query` the same way (actions/end_session.js, assemble_params).
 *
 * `rewriteEngineQuery` returns that middleware for the given GET routes: `rewrite` gets the
 * query and the route and returns the query as it is, or the one the engine should see
 * instead (only then is the query string rewritten).
 */
export function rewriteEngineQuery(
  routes: readonly string[],
  rewrite: (query: ParsedUrlQuery, route: string) => ParsedUrlQuery | Promise<ParsedUrlQuery>,
): Middleware {
  // Not async: a request at another route passes at the cost of a call, and so does a
  // request at the route whose query stays as it is (an authorization request, mostly),
  // when `rewrite` says so at once rather than through a promise.
  return (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    const path = ctx.path;
    const route = routes.find((r) => routePattern(r).test(path));
    if (!route) return next();
    const query = ctx.query;
    const rewritten = rewrite(query, route);
    if (rewritten === query) return next();
    return rewritten instanceof Promise ? rewritten.then((q) => replaceQuery(ctx, q, next)) : replaceQuery(ctx, rewritten, next);
  };
}

function replaceQuery(ctx: Context, query: ParsedUrlQuery, next: Next): Promise<void> {
  if (query !== ctx.query) ctx.query = query;
  return next();
}

/** The A9 rewrite of authorization parameters, wherever they reach the engine: the query of GET /auth, the form of PAR. */
export function rewriteAuthorizationParameters(rewrite: (params: ParsedUrlQuery) => ParsedUrlQuery): Middleware {
  const query = rewriteEngineQuery([AUTHORIZATION_PATH], rewrite);
  return (ctx, next) => (isEngineRoute(ctx, ctx.path, 'POST', PAR_PATH) ? rewriteEngineForm(ctx, rewrite).then(() => query(ctx, next)) : query(ctx, next));
}

/**
 * A10 Client metadata. `Client.validate(metadata)` checks metadata exactly as its
 * Provider checks the same client when it first loads it (models/client.js: both build
 * the client schema of that Provider's configuration), and rejects with an OAuth error
 * whose `error` is invalid_client_metadata or invalid_redirect_uri and whose
 * `error_description` names the field. So one validator Provider per process, configured
 * like the apps' (shared-configuration.ts) and never serving a request, answers for every
 * app, before the app is stored. One difference by design: the validator allows every
 * signing algorithm an app may choose, an app's Provider only those the app has keys of
 * (A45); the write that chooses an algorithm adds its keys (key-ring.ts), so the record
 * validated is one its Provider accepts.
 */
export async function validateClientMetadata(metadata: ClientMetadata): Promise<void> {
  const provider = await clientValidator();
  try {
    await provider.Client.validate(metadata);
  } catch (err) {
    const e = err as { error?: unknown; error_description?: unknown };
    if (typeof e.error !== 'string') throw err;
    const kind = e.error === 'invalid_redirect_uri' ? 'invalid_redirect_uri' : 'invalid_client_metadata';
    throw new PosternError(kind, typeof e.error_description === 'string' ? e.error_description : e.error);
  }
}

/** The validator serves no requests, so it keeps nothing; anything asking to is a bug. */
class NothingStored implements Adapter {
  #refuse(): never {
    throw new Error('the client metadata validator stores nothing');
  }
  upsert = async () => this.#refuse();
  find = async () => this.#refuse();
  findByUid = async () => this.#refuse();
  findByUserCode = async () => this.#refuse();
  consume = async () => this.#refuse();
  destroy = async () => this.#refuse();
  revokeByGrantId = async () => this.#refuse();
}

let validator: Promise<Provider> | undefined;

/** Made on first use; its signing keys (the engine wants one per algorithm) live as long. */
function clientValidator(): Promise<Provider> {
  validator ??= (async () => {
    const keys = await Promise.all(
      SIGNING_ALGS.map(async (alg) => ({ ...(await exportJWK((await generateKeyPair(alg, { extractable: true })).privateKey)), alg, use: 'sig' })),
    );
    return new Provider('https://client-validator.postern.invalid', { ...sharedConfiguration(), jwks: { keys: keys as never }, adapter: NothingStored });
  })();
  validator.catch(() => {
    validator = undefined; // try again on the next call
  });
  return validator;
}

/**
 * A12 Grants behind tokens. The code exchange looks the code's grant up before it
 * consumes the code, and every later use of a token (userinfo, refresh, introspection)
 * looks its grant up again: a token whose grant document is gone is refused there, even
 * if the token itself is still stored. adapter.ts revokes a raced second use of a code
 * by destroying the grant, which so also covers tokens the first use stores afterwards.
 */
export const GRANT_MODEL = 'Grant';

/**
 * A13 Resume. An interaction ends (and the authorization code is issued) when the browser
 * comes back to GET or HEAD {issuer}/auth/{uid}. The engine resumes the interaction named
 * by its resume cookie (`cookieName('resume')`, signed with the cookie keys), whatever the
 * path's spelling; it finds the client again, but sends the code to the interaction's
 * stored `params.redirect_uri` without checking that URI against the client again
 * (actions/authorization/resume.js marks the check as done). Every authorization request
 * must send its redirect_uri (`allowOmittingSingleRegisteredRedirectUri: false`), so the
 * stored params hold it. Postern reads the interaction the same way first
 * (redirect-recheck.ts).
 */
export interface ResumedInteraction {
  readonly clientId: string | undefined;
  readonly redirectUri: string | undefined;
  /** Who signed in, when the interaction ended with a login. */
  readonly accountId: string | undefined;
  /** Ends the interaction, so that nothing can resume it any more. */
  end(): Promise<void>;
}

const text = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The uid in the resume cookie of a request that may resume an interaction. */
function resumeCookie(ctx: Context, provider: Provider): string | undefined {
  return ctx.method === 'GET' || ctx.method === 'HEAD' ? ctx.cookies.get(provider.cookieName('resume')) : undefined;
}

/** The interaction this request would resume, if it is a resume and the interaction exists. */
export async function resumedInteraction(ctx: Context, provider: Provider): Promise<ResumedInteraction | undefined> {
  const uid = resumeCookie(ctx, provider);
  // Read again by the engine's resume in the same request: from this read's copy (A67).
  const interaction = uid ? await outsideEngineRoutes(asRequest(ctx, () => provider.Interaction.find(uid))) : undefined;
  if (!interaction) return undefined;
  return {
    clientId: text(interaction.params.client_id),
    redirectUri: text(interaction.params.redirect_uri),
    accountId: interaction.result?.login?.accountId,
    end: () => outsideEngineRoutes(interaction.destroy()),
  };
}

/**
 * A14 Sign-out confirmation. The logout page's form posts to
 * {issuer}/session/end/confirm (in every spelling the engine routes there). There the
 * engine ends the session and redirects to the post_logout_redirect_uri it checked
 * against the client when it showed the page, kept since in the session's `state`
 * (`postLogoutRedirectUri`, with `clientId` and the app's `state`), without checking it
 * again (actions/end_session.js); without one it redirects to its own success page under
 * the issuer. The session is the one named by its session cookie
 * (`cookieName('session')`), its `accountId` the person signed in. After the engine ran,
 * `ctx.oidc.route` says whether the request was that confirmation.
 */
export interface PendingSignOut {
  readonly clientId: string | undefined;
  readonly postLogoutRedirectUri: string | undefined;
  /** The `state` the app sent with the sign-out request, to be returned with the redirect. */
  readonly state: string | undefined;
  /** Who is signed in, if the session has anyone. */
  readonly accountId: string | undefined;
}

const SIGN_OUT_CONFIRMATION_PATH = `${END_SESSION_PATH}/confirm`;

/** `path` is the request's path under the issuer. */
export function isSignOutConfirmation(ctx: Context, path: string): boolean {
  return isEngineRoute(ctx, path, 'POST', SIGN_OUT_CONFIRMATION_PATH);
}

/** The sign-out this browser was asked to confirm: where it would send it, read without the engine. */
export async function pendingSignOut(ctx: Context, provider: Provider): Promise<PendingSignOut> {
  const session = await sessionOfCookie(ctx, provider);
  const state = session?.state;
  return {
    clientId: text(state?.clientId),
    postLogoutRedirectUri: text(state?.postLogoutRedirectUri),
    state: text(state?.state),
    accountId: text(session?.accountId),
  };
}

/** Sessions read by cookie, once per request, before the engine runs (A14, A19). */
const sessionsRead = new WeakMap<Context, Promise<InstanceType<Provider['Session']> | undefined>>();

function sessionOfCookie(ctx: Context, provider: Provider) {
  let read = sessionsRead.get(ctx);
  if (!read) {
    const id = ctx.cookies.get(provider.cookieName('session'));
    read = id ? outsideEngineRoutes(provider.Session.find(id)) : Promise.resolve(undefined);
    sessionsRead.set(ctx, read);
  }
  return read;
}

/** Who is signed in to a client through a session, and the sid that client's ID tokens carry. */
export interface ClientSession {
  readonly accountId: string;
  readonly sid: string;
}

/**
 * A19 Sessions and sid. A Session document, as the engine stores it through the adapter
 * (and as `Session.find` returns it), holds the account signed in (`accountId`) and, for
 * each client signed in through it, `authorizations[clientId].sid`: the sid that client's
 * ID tokens carry (A4, `sidFor`). Sign-out everywhere reads it from the sessions it
 * removes (their documents), the sign-out confirmation from the session of its cookie.
 */
export function clientSession(session: unknown, clientId: string): ClientSession | undefined {
  const found = signedInClients(session).find((c) => c.clientId === clientId);
  return found && { accountId: found.accountId, sid: found.sid };
}

/** A19: every client signed in through the session, each with its sid. */
export function signedInClients(session: unknown): (ClientSession & { clientId: string })[] {
  const { accountId, authorizations } = (session ?? {}) as { accountId?: unknown; authorizations?: Record<string, { sid?: unknown } | undefined> };
  if (typeof accountId !== 'string' || typeof authorizations !== 'object' || authorizations === null) return [];
  return Object.entries(authorizations).flatMap(([clientId, part]) => (typeof part?.sid === 'string' ? [{ clientId, accountId, sid: part.sid }] : []));
}

/** Before the engine runs: every client's part of the session this sign-out confirmation could end. */
export async function confirmingSignOut(ctx: Context, provider: Provider): Promise<(ClientSession & { clientId: string })[]> {
  return signedInClients(await sessionOfCookie(ctx, provider));
}

/**
 * A20 Sign-out outcome. After the engine answered a sign-out confirmation (`ctx.oidc.route`
 * 'end_session_confirm'), the request's Session entity (`ctx.oidc.entities.Session`) shows
 * what ended (actions/end_session.js): it is `destroyed` when the person signed out of
 * everything, and it no longer holds the client's sid when only that client's part ended;
 * a confirmation refused (wrong xsrf) leaves it as it was. With the session read before
 * the engine (A19), this says whether the client's session ended, whatever the form said.
 */
export function endedAtConfirmation(ctx: Context, before: ClientSession, clientId: string): boolean {
  const oidc = (ctx as unknown as Partial<KoaContextWithOIDC>).oidc;
  if (oidc?.route !== 'end_session_confirm') return false;
  const after = oidc.entities?.Session as (InstanceType<Provider['Session']> & { destroyed?: boolean }) | undefined;
  if (!after) return false;
  return after.destroyed === true || clientSession(after, clientId)?.sid !== before.sid;
}

/** A resume (A13) or a sign-out confirmation: a request that may send the browser to the app. `path` is under the issuer. */
export function mayFinishAtClient(ctx: Context, provider: Provider, path: string): boolean {
  return resumeCookie(ctx, provider) !== undefined || isSignOutConfirmation(ctx, path);
}

/** After the engine: the request was a sign-out confirmation, answered with a redirect out of the issuer. */
export function signOutRedirect(ctx: Context, provider: Provider): string | undefined {
  if ((ctx as unknown as Partial<KoaContextWithOIDC>).oidc?.route !== 'end_session_confirm') return undefined;
  const location = ctx.response.get('Location');
  return ctx.status >= 300 && ctx.status < 400 && location && !location.startsWith(`${provider.issuer}/`) ? location : undefined;
}

/** What introspection said of a token, for revoke_all. */
export type Introspection =
  | { readonly active: true; readonly accountId: string; readonly clientId: string }
  | { readonly active: false; readonly clientId: string | undefined };

/**
 * A11 Introspection. The engine's introspection endpoint reads its own body, authenticates
 * the client with the engine's own rules and errors (those of every endpoint that
 * authenticates clients, revocation included), and answers RFC 7662 JSON to a request that
 * accepts JSON (a signed JWT, RFC 9701, only when the client signs introspection responses
 * and the request prefers application/token-introspection+jwt): `active: true`
 * with `sub` only for an access or refresh token that is valid, whose grant is alive and
 * that `introspection.allowedPolicy` lets this client see; a consumed refresh token is
 * inactive. A request whose path is rewritten before it reaches the engine is answered as
 * if it had been sent to the new path.
 *
 * Hands the request, whatever path it came to, to the introspection endpoint of the app
 * at `issuerPath` (`handle` runs the app's engine). Undefined when the engine answered an
 * error, which is then the response as it stands.
 */
export async function introspect(ctx: Context, issuerPath: string, handle: () => Promise<void>): Promise<Introspection | undefined> {
  const asked = ctx.path;
  const { accept } = ctx.request.headers;
  ctx.path = `${issuerPath}${INTROSPECTION_PATH}`;
  // JSON, also for an app that signs introspection responses (RFC 9701: a JWT only when asked for).
  ctx.request.headers.accept = 'application/json';
  try {
    await handle();
  } finally {
    ctx.path = asked;
    if (accept === undefined) delete ctx.request.headers.accept;
    else ctx.request.headers.accept = accept;
  }
  if (ctx.status !== 200) return undefined;
  const answer = ctx.body as { active?: unknown; sub?: unknown; client_id?: unknown };
  const clientId = (ctx as unknown as KoaContextWithOIDC).oidc?.client?.clientId;
  if (answer.active === true && typeof answer.sub === 'string' && answer.client_id === clientId && clientId) {
    return { active: true, accountId: answer.sub, clientId };
  }
  return { active: false, clientId };
}

/**
 * A69 A spent refresh token. The engine's `RefreshToken.find` returns a refresh token that
 * was used (rotated) with `consumed` set, as its revocation endpoint finds it (and then
 * revokes its grant), while introspection calls it inactive (A11). `Grant.find` returns
 * the grant while it is stored. The account of a spent refresh token that has not expired,
 * was issued to `clientId` and whose grant (the chain it belongs to) is still alive;
 * undefined otherwise. Outside the token endpoint the adapter hands a used token over as
 * it is stored, without counting a replay (A8).
 */
export async function spentRefreshTokenAccount(provider: Provider, token: string, clientId: string): Promise<string | undefined> {
  const found = await provider.RefreshToken.find(token);
  if (!found?.consumed || found.isExpired || found.clientId !== clientId || !found.grantId || !found.accountId) return undefined;
  const grant = await provider.Grant.find(found.grantId);
  return grant && grant.clientId === clientId && grant.accountId === found.accountId ? found.accountId : undefined;
}

/**
 * A17 Routes and forms. The engine routes a request by its method and its path under the
 * issuer: Koa's `ctx.path` (not percent-decoded) compared with the route's path with ASCII
 * letters in either case, and one trailing slash allowed (helpers/router.js); a GET route
 * also answers HEAD. It reads a form body (Content-Type application/x-www-form-urlencoded)
 * itself (A1), decoded by the request's charset (UTF-8 without one), with
 * `querystring.parse` (shared/selective_body.js). Postern recognises the engine's routes,
 * and reads its forms, exactly so before the engine runs.
 */
export function isEngineRoute(ctx: Context, path: string, method: 'GET' | 'POST', route: string): boolean {
  // The method first: it rules out most routes before any pattern runs.
  const methodFits = method === 'GET' ? ctx.method === 'GET' || ctx.method === 'HEAD' : ctx.method === method;
  return methodFits && routePattern(route).test(path);
}

/**
 * A41 POST-only routes. The engine routes a request to its sign-out confirmation
 * (`end_session_confirm`) and to RFC 7009 revocation (`revocation`) at POST only, in
 * every spelling (helpers/initialize_app.js; the CORS preflight of revocation is a route
 * of its own, `cors.revocation`). So after a request of any other method `ctx.oidc.route`
 * is neither, and what Postern checks after the engine for those two routes (the redirect
 * of a sign-out, the audit of a revocation) need not wrap such a request at all.
 */
export const POST_ONLY_ROUTES = ['end_session_confirm', 'revocation'] as const;

/** Whether the engine may route this request to one of POST_ONLY_ROUTES (A41). */
export function mayReachPostOnlyRoute(ctx: Context): boolean {
  return ctx.method === 'POST';
}

const patterns = new Map<string, RegExp>();

/** The route's path in any ASCII case, with one optional trailing slash (a regex without the u flag folds ASCII only). */
function routePattern(route: string): RegExp {
  let pattern = patterns.get(route);
  if (!pattern) {
    pattern = new RegExp(`^${route.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/?$`, 'i');
    patterns.set(route, pattern);
  }
  return pattern;
}

const FORM = 'application/x-www-form-urlencoded';

/** The charset the engine decodes a form with, or undefined when it is one Postern cannot read the same way. */
function formCharset(ctx: Context): string | undefined {
  const charset = ctx.request.charset || 'utf-8';
  try {
    return new TextDecoder(charset).encoding;
  } catch {
    return undefined;
  }
}

/**
 * The form the engine will read from this request, as it will parse it: empty without a
 * body, undefined for another content type or a charset Postern cannot decode (the engine
 * refuses the one and answers the other as it sees fit). The body goes back for the engine.
 */
export async function engineForm(ctx: Context): Promise<ParsedUrlQuery | undefined> {
  if (!ctx.get('content-type')) return {};
  const charset = formCharset(ctx);
  if (!ctx.is(FORM) || !charset) return undefined;
  return parseForm(await peekBody(ctx), charset);
}

function parseForm(body: Buffer, charset: string): ParsedUrlQuery {
  return querystring.parse(new TextDecoder(charset).decode(body));
}

/**
 * Gives the engine the form `rewrite` returns instead of the one sent (UTF-8 forms only,
 * so that the bytes written back mean what the charset says). A rewritten body over the
 * engine's limit (A1) is left as it was sent.
 */
async function rewriteEngineForm(ctx: Context, rewrite: (params: ParsedUrlQuery) => ParsedUrlQuery): Promise<void> {
  if (!ctx.is(FORM) || formCharset(ctx) !== 'utf-8') return;
  await replaceBody(ctx, (body) => {
    const sent = parseForm(body, 'utf-8');
    const form = rewrite(sent);
    if (form === sent) return body;
    const replaced = Buffer.from(querystring.stringify(form));
    return replaced.length <= ENGINE_BODY_LIMIT ? replaced : body;
  });
}

/** How a request presents a client secret, as the engine tells: in the form, in an Authorization: Basic header, or not at all. */
export type SecretTransport = 'client_secret_post' | 'client_secret_basic';

/**
 * A18 Client authentication. The engine authenticates clients at the token, revocation,
 * introspection and PAR endpoints, and nowhere else that Postern enables
 * (shared/client_auth.js). A request with more than one mechanism, or a repeated
 * client_secret, is its invalid_request; otherwise a non-empty `client_secret` in the
 * form presents the secret in the form, and else an Authorization header presents it as
 * HTTP Basic. For a client registered with client_secret_basic or client_secret_post the
 * engine accepts either transport (it enforces only "a secret" against "none"), so the
 * registered method is enforced before the engine runs (src/oidc/client-auth-method.ts).
 * Undefined when the request presents no secret, or when the engine refuses it anyway.
 */
export function secretTransport(ctx: Context, form: ParsedUrlQuery): SecretTransport | undefined {
  const secret = form.client_secret;
  const header = ctx.get('authorization');
  if (Array.isArray(secret) || (secret && header)) return undefined;
  if (secret) return 'client_secret_post';
  const [scheme, credentials, ...rest] = header.split(' ');
  return scheme?.toLowerCase() === 'basic' && credentials && rest.length === 0 ? 'client_secret_basic' : undefined;
}

/**
 * A25 Structured tokens at introspection. The engine's introspection endpoint authenticates
 * the client (A11) before it looks at the token, and then refuses a token that parses as
 * a JWS (its protected header decodes) with 400 unsupported_token_type
 * (shared/reject_structured_tokens.js), `ctx.oidc.client` set to the client it
 * authenticated. So a JWT access token reaches Postern's own answer
 * (jwt-introspection.ts) only from a client the engine authenticated, by its own rules.
 */
export function isStructuredToken(token: string): boolean {
  try {
    return !!decodeProtectedHeader(token);
  } catch {
    return false;
  }
}

/** After the engine: the client it authenticated, when it refused the request only because the token is structured (A25). */
export function clientRefusedStructuredToken(ctx: Context): string | undefined {
  const body = ctx.body as { error?: unknown } | undefined;
  if (ctx.status !== 400 || body?.error !== 'unsupported_token_type') return undefined;
  return (ctx as unknown as Partial<KoaContextWithOIDC>).oidc?.client?.clientId;
}

/**
 * A26 JWT access tokens. A JWT access token (a resource server with `accessTokenFormat:
 * 'jwt'`) is not stored through the adapter (models/formats/jwt.js returns no payload to
 * save), and `formats.customizers.jwt` is awaited before the token endpoint answers, with
 * the AccessToken model, whose `jti` is the JWT's `jti` and which carries `grantId`,
 * `accountId`, `clientId` and `expiration` (its TTL in seconds). Postern records each one
 * under this model (resource-indicators.ts), for introspection.
 *
 * A27 No JWT at userinfo or revocation. Since the engine finds access tokens only in its
 * store (A26), userinfo answers a JWT access token with 401 invalid_token; the revocation
 * endpoint refuses one as structured with 400 unsupported_token_type (A25). Revoking the
 * grant (its refresh token, revoke_all) is how a JWT access token is ended early.
 */
export const JWT_ACCESS_TOKEN_MODEL = 'JwtAccessToken';
/**
 * A18 (continued) The client a request authenticates as, and the secret it presents, as
 * the engine reads them: `client_id` and `client_secret` of the form, or the HTTP Basic
 * credentials (base64 of `client_id:client_secret`, each form-urlencoded, `+` a space).
 * Undefined when the engine would refuse the request's credentials anyway.
 */
export function presentedCredentials(ctx: Context, form: ParsedUrlQuery, transport: SecretTransport): { clientId: string; secret: string } | undefined {
  if (transport === 'client_secret_post') {
    const { client_id: clientId, client_secret: secret } = form;
    return typeof clientId === 'string' && typeof secret === 'string' ? { clientId, secret } : undefined;
  }
  const basic = Buffer.from(ctx.get('authorization').split(' ')[1] ?? '', 'base64').toString('utf8');
  const i = basic.indexOf(':');
  if (i === -1) return undefined;
  try {
    const decode = (token: string) => decodeURIComponent(token.replace(/\+/g, '%20'));
    return { clientId: decode(basic.slice(0, i)), secret: decode(basic.slice(i + 1)) };
  } catch {
    return undefined;
  }
}

/**
 * Makes the engine see `secret` where the request presented another one, by the same
 * transport: a client's previous secret during its grace period becomes its current one
 * (client-auth-method.ts), so the engine's single registered secret is all it compares.
 */
export async function presentSecretInstead(ctx: Context, transport: SecretTransport, clientId: string, secret: string): Promise<void> {
  if (transport === 'client_secret_post') {
    await rewriteEngineForm(ctx, (form) => ({ ...form, client_secret: secret }));
    return;
  }
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  ctx.request.headers.authorization = `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}`;
}

/**
 * A21 Clients through the adapter. `Client.find(id)` looks in the configured (static)
 * clients first and otherwise asks the adapter of model `Client` on every call, caching
 * instances only by a hash of the properties the adapter returned: a client the adapter
 * no longer finds is unknown at the next request, a changed one is rebuilt from its new
 * properties. Every use of a token finds its client first (userinfo and introspection
 * for an access token, the token endpoint authenticating the client for a refresh token
 * or a code), so when a client is removed its tokens stop working at once. The engine
 * stores a registered client with the adapter's `upsert` (its `client.metadata()`, the
 * secret in clear) and removes it with `destroy` (RFC 7592 DELETE).
 */
export const CLIENT_MODEL = 'Client';

/**
 * A22 Registration. With `features.registration.initialAccessToken: true`, POST at the
 * registration endpoint looks its Bearer token up with the adapter of model
 * `InitialAccessToken`, the token itself as the id, and takes the payload as the token
 * (`exp` and `iat`, when the payload has them, checked against the system time); unknown, it answers 401
 * invalid_token. Then it runs the policies the payload names on the client's properties
 * (a policy that throws an OAuth error ends the request with it), after it has given them
 * a `client_secret` if `Client.needsSecret` asks for one, judged before the clients'
 * defaults apply (so also when no `token_endpoint_auth_method` is named); what the
 * policies leave in the properties is what is stored and answered. It stores the client
 * (A21) and only after that saves the registration access token, which keeps the
 * policies, so they run again at every RFC 7592 update. While the client is stored,
 * `Provider.ctx.oidc.entities.InitialAccessToken` is the token found.
 */
export const INITIAL_ACCESS_TOKEN_MODEL = 'InitialAccessToken';

/**
 * A70 The order of a registration's writes. At POST {issuer}/reg the engine makes the
 * registration access token (a `RegistrationAccessToken`, `ctx.oidc.entities`) before it
 * runs the policies, gives it the initial access token's policies unless it has some, then
 * stores the client with the `Client` adapter's `upsert` and only after that calls the
 * token's `save()`, which calls its adapter's `upsert` with the token's value as the id, the
 * same on every call. At PUT {issuer}/reg/{id} with rotation it stores the client, names the
 * presented token the request's `RotatedRegistrationAccessToken`, calls `destroy` on it and
 * `save()` on a new token. (A token presented for another client is destroyed at once on
 * every management route, before any entity is named: `client mismatch`.) Every one of these
 * adapter calls runs while `Provider.ctx` is that request's context (A67), whose `oidc.route`
 * is `registration` or `client_update`. So Postern can store the token of a registration
 * first, from the client's `upsert`, and remove an update's rotated token only once the new
 * one is stored (registration-token-order.ts).
 */
export const REGISTRATION_ACCESS_TOKEN_MODEL = 'RegistrationAccessToken';

/** What A70 uses of the engine's registration access tokens. */
interface RegistrationAccessTokenEntity {
  readonly jti: string;
  save(): Promise<string | undefined>;
  destroy(): Promise<void>;
}

/**
 * A70: the registration route the engine is handling now: at a registration, the token it
 * will hand out; at an update, the id of the token its rotation replaces, once named.
 */
export function registrationRoute():
  | { request: object; route: 'registration'; token: RegistrationAccessTokenEntity | undefined }
  | { request: object; route: 'client_update'; rotated: string | undefined }
  | undefined {
  const ctx = Provider.ctx;
  const entities = ctx?.oidc?.entities as { RegistrationAccessToken?: RegistrationAccessTokenEntity; RotatedRegistrationAccessToken?: RegistrationAccessTokenEntity } | undefined;
  if (ctx?.oidc?.route === 'registration') return { request: ctx, route: 'registration', token: entities?.RegistrationAccessToken };
  if (ctx?.oidc?.route === 'client_update') return { request: ctx, route: 'client_update', rotated: entities?.RotatedRegistrationAccessToken?.jti };
  return undefined;
}

/**
 * A71 The order of an RFC 7009 revocation's writes. At POST {issuer}/token/revocation the
 * engine finds the presented token, names it the request's entity of its kind
 * (`ctx.oidc.entities.AccessToken`, `RefreshToken` or `ClientCredentials`), calls `destroy()`
 * on it, which calls its adapter's `destroy` with the token's value as the id, and only then
 * revokes its grant when it has one (helpers/revoke.js: each token model's `revokeByGrantId`,
 * and the Grant adapter's `destroy` where `revokeGrantPolicy` says so, by default at a
 * refresh token's revocation). The answer, 200 with an empty body, is set before
 * those writes and stands once they are done. Each of these adapter calls runs while
 * `Provider.ctx` is that request's context (A67), whose `oidc.route` is `revocation`. So
 * Postern can leave the removal of the presented token until the request has succeeded
 * (revocation-order.ts).
 */
export const REVOCABLE_TOKEN_MODELS: readonly string[] = ['AccessToken', 'RefreshToken', 'ClientCredentials'];

/** A71: the revocation the engine is handling now, when it presented the token `id` of `model`; undefined otherwise. */
export function revocationPresenting(model: string, id: string): object | undefined {
  const ctx = Provider.ctx;
  if (ctx?.oidc?.route !== 'revocation') return undefined;
  const presented = (ctx.oidc.entities as Record<string, { jti?: unknown } | undefined> | undefined)?.[model];
  return presented?.jti === id ? ctx : undefined;
}

/**
 * A39 Back-channel logout metadata without the engine's sender. With
 * `features.backchannelLogout` off (Postern delivers logout tokens itself, with retries:
 * logout/backchannel-logout.ts), the engine drops `backchannel_logout_uri` and
 * `backchannel_logout_session_required` from a registration as unrecognized metadata.
 * Listed in `extraClientMetadata.properties` it keeps them in the client's metadata
 * (`client.metadata()`): the registration response and RFC 7592 read echo them, the
 * `Client` adapter's upsert receives them, and Postern's registration policy has checked
 * them first (admin/client-input.ts); the engine itself never posts to them, since its
 * sender runs only with the feature on.
 */
export const BACKCHANNEL_CLIENT_METADATA = ['backchannel_logout_uri', 'backchannel_logout_session_required'];

/**
 * A40 Open registration through the initial-access-token path. The registration endpoint
 * reads its Bearer token from the request's Authorization header when its route runs,
 * after the middleware of `provider.use`, and looks it up with the adapter of model
 * `InitialAccessToken` (A22) while `Provider.ctx` is that request's context. So a
 * token-less registration an app allows (open-registration.ts) is given a value only that
 * request carries, which the adapter answers with the one policy: the engine runs
 * registration policies only for an adapter-backed initial access token (A22), and this
 * way an open registration is held to them like any other.
 */
export function presentOneTimeToken(ctx: Context, token: string): void {
  ctx.request.headers.authorization = `Bearer ${token}`;
}

/**
 * A67 One request, one context. While the engine handles a request at one of its routes,
 * every adapter call it makes for that request sees `Provider.ctx` as that request's Koa
 * context, an object no other request shares: the context the mounting app and the
 * middleware of `provider.use` got (koa-mount runs the engine's middleware on it). The
 * middleware of `provider.use` run before the engine's routes set `Provider.ctx`, and
 * Postern's own pages call the engine's API outside them: there it is undefined, and a
 * read made with `asRequest` names its request instead (the hosted login's
 * `interactionDetails`, then `interactionResult` at a confirmation: both read the interaction,
 * and its session when it has one, through the adapter). A model the engine builds from a
 * found payload takes the payload's top-level properties as they are
 * (models/base_model.js), so it shares the payload's nested objects (an interaction's
 * `params`, a session's `authorizations`). The adapter reads a document a request already
 * read from that request's copy (request-reads.ts); each reader gets a copy of its own,
 * since a model may change what it shares.
 */
const readsFor = new AsyncLocalStorage<object>();

/**
 * A67: the request whose reads of `model` are kept for a second read, if any. An engine
 * route reads a session twice only at the token endpoint (its binding, then the sid claim,
 * A8); at userinfo, authorization, sign-out or introspection it reads it once, and keeping
 * it would only cost a copy. The hosted login's reads (`asRequest`) are kept for every model.
 */
export function requestKeepingReadsOf(model: string): object | undefined {
  const engine = Provider.ctx;
  if (engine && model === 'Session' && engine.oidc?.route !== 'token') return undefined;
  return engine ?? readsFor.getStore();
}

/** A67: runs `read` (engine API calls outside the engine's routes) as a read of the request `ctx`. */
export function asRequest<T>(ctx: Context, read: () => Promise<T>): Promise<T> {
  return readsFor.run(ctx, read);
}

/** A40: the request the engine is handling now (undefined outside one). */
export function engineRequest(): object | undefined {
  return Provider.ctx;
}

/** The initial access token (its value) the request being handled registers a client with; undefined outside a registration. */
export function registeringWith(): string | undefined {
  const jti = (Provider.ctx?.oidc?.entities as { InitialAccessToken?: { jti?: unknown } } | undefined)?.InitialAccessToken?.jti;
  return typeof jti === 'string' ? jti : undefined;
}

/**
 * A22: the payload the engine takes as an initial access token with the value `token`.
 * Neither `exp` nor `iat`: the engine would compare them with the system time, while
 * Postern decides expiry on its own clock (client-models.ts).
 */
export function initialAccessTokenPayload(token: string, policies: readonly string[]) {
  return { jti: token, kind: INITIAL_ACCESS_TOKEN_MODEL, policies: [...policies] };
}

/** Postern's refusals as the engine's OAuth errors, for what runs inside the engine (adapter, registration policies). */
export function asEngineError(err: unknown): never {
  if (err instanceof PosternError) {
    // The engine's InvalidRedirectUri has a fixed description (a mismatch at /auth): the
    // metadata error, renamed, keeps ours (RFC 7591 §3.2.2).
    if (err.kind === 'invalid_redirect_uri') throw Object.assign(new errors.InvalidClientMetadata(err.description), { error: 'invalid_redirect_uri', message: 'invalid_redirect_uri' });
    if (err.kind === 'invalid_client_metadata') throw new errors.InvalidClientMetadata(err.description);
    if (err.kind === 'unauthenticated') throw new errors.InvalidToken(err.description);
    if (err.kind === 'unavailable') unavailable(new StoreUnavailableError('store', err));
    throw new errors.InvalidRequest(err.description, err.status);
  }
  unavailable(err);
}

/**
 * A44 Defaults of signed responses. A signed-response algorithm a client's metadata leaves
 * out (introspection_signed_response_alg, authorization_signed_response_alg) takes the
 * configuration's `clientDefaults`, the engine's own being RS256 (consts/client_attributes.js);
 * a registration's metadata, as the engine hands it to the adapter (`client.metadata()`),
 * carries the default; and a client that asks the introspection endpoint for
 * `application/token-introspection+jwt` gets a response signed with its
 * introspectionSignedResponseAlg, the default when it named none (actions/introspection.js).
 * So each app's Provider sets those defaults to the app's ID token algorithm, of which the
 * app always holds keys (apps/client-options.ts, signedResponseDefaults; provider-config.ts).
 *
 * A45 Algorithms follow the keystore. For ID token, userinfo, introspection and
 * authorization responses the engine offers in discovery, and accepts in a client's
 * metadata (at registration, at an update, whenever it loads a client), only the
 * algorithms of keys in its `jwks` among `enabledJWA` (helpers/initialize_keystore.js);
 * the `discovery` configuration only fills fields the engine leaves out, so it cannot
 * widen those lists; and asked to sign with an algorithm it has no key of, it fails (a
 * 500). So discovery's lists are rewritten after the engine, a registration naming an
 * algorithm the app has no key of gets the keys first (registrable-algorithms.ts), every
 * write that stores a client adds the keys it signs with (keys/key-ring.ts), and a Provider
 * built before those keys refuses the client (client-models.ts).
 *
 * A46 Registration judges, then stores. At POST {issuer}/reg and PUT {issuer}/reg/{id} the
 * engine judges the metadata by its own Provider's configuration before it calls the
 * adapter's `upsert`, so a refused registration stores nothing; and the registration
 * access token an update presents is found with `provider.RegistrationAccessToken.find`,
 * whose `clientId` is the client it manages (registrable-algorithms.ts checks it before
 * it makes keys for an update).
 */

/**
 * A33 Public documents. The engine's answer at GET discovery and GET jwks is a JSON body
 * that depends on nothing but the Provider's configuration (issuer, routes, keys, enabled
 * features: actions/discovery.js, actions/jwks.js), plus the CORS headers its open CORS
 * middleware sets on every such GET: `Vary: Origin` and `Access-Control-Allow-Origin`
 * with the request's Origin, or `*` without one (shared/cors.js). So once one answer is
 * kept, Postern can give every later request for the same Provider the same body with
 * those two headers (src/tenancy/public-documents.ts), without running the engine.
 */
export const PUBLIC_DOCUMENT_ROUTES = { discovery: '/.well-known/openid-configuration', jwks: '/jwks' } as const;

export function engineCorsHeaders(ctx: Context): Record<string, string> {
  return { Vary: 'Origin', 'Access-Control-Allow-Origin': ctx.get('Origin') || '*' };
}

/** The parts of the engine's self-submitting page (A28). */
export interface EngineFormPost {
  readonly action: string;
  readonly fields: readonly (readonly [string, string])[];
  /** The engine's inline `<script>…</script>`, exactly as written: the CSP allows its hash (A6). */
  readonly script: string | undefined;
}

const FORM_POST_TITLE = '<title>Submitting Callback</title>';
const HTML_SAFE: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" };
const unescapeHtmlSafe = (text: string) => text.replace(/&(?:amp|lt|gt|quot|#39);/g, (e) => HTML_SAFE[e] ?? e);

/**
 * A28 Self-submitting form. The engine's form_post page is not configurable: a
 * response_mode=form_post answer, and the sign-out confirmation it submits on its own (GET
 * /session/end without a session; a resume for another account) are written whole by
 * response_modes/form_post.js: the title "Submitting Callback", one inline `<script>`
 * whose hash it adds to the CSP (A6), one `<form method="post" action="…">` and an
 * `<input type="hidden" name="…" value="…"/>` per field, names as given and action and
 * values escaped by helpers/html_safe.js (&, <, >, ", '). This reads those parts back, so
 * Postern can draw the page in its own look (src/oidc/form-post-page.ts); undefined for
 * any other body, which is then sent as the engine wrote it.
 */
/**
 * A64 The form only at GET. The engine writes its self-submitting form (A28) at the routes
 * that use the form_post response mode or submit a sign-out on their own: authorization
 * and resume, which it routes at GET (and HEAD) only (POST at the authorization endpoint
 * needs `enableHttpPostMethods`, off: posted-request.ts answers it), and end_session at GET
 * (its POST also needs that option); code_verification (device flow) is not enabled. Every
 * POST route (token, PAR, revocation, introspection, registration, end_session_confirm)
 * answers JSON or redirects. So a request of another method never gets that page, and
 * form-post-page.ts need not look at its answer.
 */
export function mayAnswerWithFormPost(ctx: Context): boolean {
  return ctx.method === 'GET' || ctx.method === 'HEAD';
}

export function engineFormPost(body: unknown): EngineFormPost | undefined {
  if (typeof body !== 'string' || !body.includes(FORM_POST_TITLE)) return undefined;
  const form = /<form method="post" action="([^"]*)">([\s\S]*?)<\/form>/.exec(body);
  if (!form) return undefined;
  const fields = [...form[2]!.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/>/g)].map(
    (m) => [unescapeHtmlSafe(m[1]!), unescapeHtmlSafe(m[2]!)] as const,
  );
  return { action: unescapeHtmlSafe(form[1]!), fields, script: /<script>[\s\S]*?<\/script>/.exec(body)?.[0] };
}

/**
 * A50 Cookie keys. Given an object rather than an array in `cookies.keys` (documented: "your
 * own KeyGrip instance"), the engine keeps that very object as its Koa `keys`, and the
 * `cookies` module signs every signed cookie with its `sign(data)` and checks each with its
 * `index(data, digest)`, as it does with a Keygrip (whose index of an older key makes the
 * module re-sign at Path=/ without SameSite: CookieKeys answers 0 for any key instead). So
 * Postern's CookieKeys (src/keys/cookie-keys.ts), which makes Keygrip's signatures under
 * keys imported once, signs the engine's cookies: cookies signed by either verify with the
 * other.
 */
export function engineCookieKeys(secrets: readonly string[]): CookieKeys {
  return cookieKeysFor(secrets);
}

/*
 * A61 Documents read are shared, not copied. A model the engine instantiates from what the
 * adapter's `find`/`findByUid` returned copies only the top-level fields
 * (lib/models/base_model.js): its nested objects (a session's `authorizations`, a grant's
 * `openid` and `rejected`) are the adapter's own objects, and the engine changes them in
 * place (`sidFor`, `grantIdFor`, `addOIDCScope`) before it saves. So an adapter must hand
 * out a copy that shares nothing with what it holds: the memory store keeps a JSON copy of
 * each document and hands out copies of that (src/json-copy.ts), which is why
 * it can hold the engine's documents unsealed (src/compose.ts) and still unchanged.
 */

/*
 * A68 A session whose account is gone. At an authorization request and at a resume the
 * engine looks the session's account up (`findAccount`) before it runs the interaction
 * policy, sets `ctx.oidc.account` only when one was found and makes a grant only for it
 * (lib/actions/authorization/session.js); its login prompt asks for a sign-in only when the
 * session has no account id, and its consent prompt reads that grant. So a session naming an
 * account that is no longer stored (accounts in MongoDB restored from a backup older than
 * the sessions in Redis; a Redis that evicted keys) would end every authorization request in
 * a TypeError, a 500. Postern's policy asks such a session to sign in again, as if it had
 * none: the login page, or `login_required` for prompt=none.
 */
export function interactionPolicyOf(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  policy.get('login')!.checks.add(
    new interactionPolicy.Check('account_gone', 'End-User authentication is required', 'login_required', (ctx) =>
      ctx.oidc.session?.accountId && !ctx.oidc.account ? interactionPolicy.Check.REQUEST_PROMPT : interactionPolicy.Check.NO_NEED_TO_PROMPT,
    ),
  );
  return policy;
}
