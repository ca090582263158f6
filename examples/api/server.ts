// An API (a resource server) that accepts Postern access tokens, in both forms:
//  - JWT access tokens (RFC 9068) for an API resource registered at Postern: verified
//    locally with jose against the app's JWKS (keys cached, refetched on an unknown kid):
//    signature, `typ: at+jwt` (so an ID token or logout token is never taken for one),
//    `iss`, `aud` = this API's identifier, expiry, the algorithm, and the scope;
//  - opaque access tokens: asked about at Postern's introspection endpoint (RFC 7662) with
//    the app's client credentials, so a revoked token stops working at once.
// Tokens are read from the Authorization header only, never from the URL.
//
//   ISSUER=… CLIENT_ID=… CLIENT_SECRET=… npm run example:api
//   API_IDENTIFIER=https://api.example.com REQUIRED_SCOPE=read:things (the defaults)
import Router from '@koa/router';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';
import Koa, { type Context } from 'koa';

const env = process.env;
const port = Number(env.PORT ?? 4002);
const issuer = (env.ISSUER ?? '').replace(/\/$/, '');
if (!issuer) throw new Error('Set ISSUER (the issuer of the app whose tokens this API accepts), and CLIENT_ID and CLIENT_SECRET to introspect opaque tokens.');
const identifier = env.API_IDENTIFIER ?? 'https://api.example.com';
const requiredScope = env.REQUIRED_SCOPE ?? 'read:things';
const introspectionClient = env.CLIENT_ID && env.CLIENT_SECRET ? { id: env.CLIENT_ID, secret: env.CLIENT_SECRET } : undefined;

const discovery = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
if (discovery.issuer !== issuer) throw new Error(`${issuer} publishes the issuer ${String(discovery.issuer)}`);
const jwks = createRemoteJWKSet(new URL(String(discovery.jwks_uri)));
const introspectionEndpoint = String(discovery.introspection_endpoint);
// Asymmetric algorithms Postern signs with; never `none`, never HMAC with a public key.
const ALGORITHMS = ['ES512', 'RS256', 'ES256', 'EdDSA'];

interface Caller {
  readonly sub: string;
  readonly clientId: string | undefined;
  readonly via: 'jwt' | 'introspection';
}

class Refused extends Error {
  readonly status: 401 | 403 | 503;
  /** Undefined for a request without credentials (RFC 6750 §3.1: then no error code). */
  readonly error: 'invalid_token' | 'insufficient_scope' | 'temporarily_unavailable' | undefined;
  constructor(status: Refused['status'], error: Refused['error'], description: string) {
    super(description);
    this.status = status;
    this.error = error;
  }
}

const scopesOf = (claims: JWTPayload) => (typeof claims.scope === 'string' ? claims.scope.split(' ') : []);

async function verifyJwt(token: string): Promise<Caller> {
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, jwks, { issuer, audience: identifier, typ: 'at+jwt', algorithms: ALGORITHMS, requiredClaims: ['sub', 'exp', 'iat'] }));
  } catch (err) {
    throw new Refused(401, 'invalid_token', `not a valid access token for this API (${(err as { code?: string }).code ?? 'invalid'})`);
  }
  if (!scopesOf(payload).includes(requiredScope)) throw new Refused(403, 'insufficient_scope', `needs the scope ${requiredScope}`);
  return { sub: payload.sub!, clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined, via: 'jwt' };
}

async function introspect(token: string): Promise<Caller> {
  if (!introspectionClient) throw new Refused(401, 'invalid_token', 'only JWT access tokens are accepted here');
  const formEncoded = (text: string) => new URLSearchParams({ x: text }).toString().slice(2);
  const basic = Buffer.from(`${formEncoded(introspectionClient.id)}:${formEncoded(introspectionClient.secret)}`).toString('base64');
  let answer: Response;
  try {
    answer = await fetch(introspectionEndpoint, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ token, token_type_hint: 'access_token' }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch {
    throw new Refused(503, 'temporarily_unavailable', 'the sign-in service did not answer');
  }
  // 400: Postern could not read the token at all; anything else is Postern's trouble (or our credentials').
  if (answer.status === 400) throw new Refused(401, 'invalid_token', 'the token is malformed');
  if (!answer.ok) throw new Refused(503, 'temporarily_unavailable', `introspection answered ${answer.status}`);
  const claims = (await answer.json()) as { active?: unknown; sub?: unknown; client_id?: unknown; token_type?: unknown; exp?: unknown };
  // Postern answers `active: true` only for a live access or refresh token of this client.
  if (claims.active !== true || claims.token_type !== 'Bearer' || typeof claims.sub !== 'string') {
    throw new Refused(401, 'invalid_token', 'the token is not active');
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now()) throw new Refused(401, 'invalid_token', 'the token has expired');
  return { sub: claims.sub, clientId: typeof claims.client_id === 'string' ? claims.client_id : undefined, via: 'introspection' };
}

/** The bearer token of the request (RFC 6750 §2.1: the scheme in any case), or undefined. */
function bearerToken(ctx: Context): string | undefined {
  const match = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(ctx.get('authorization'));
  return match && match[1]!.length <= 8192 ? match[1] : undefined;
}

// Three parts, the last possibly empty (an unsigned JWT goes to jose, which refuses it, not to introspection).
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

async function caller(ctx: Context): Promise<Caller | undefined> {
  const token = bearerToken(ctx);
  try {
    if (token === undefined) throw new Refused(401, ctx.get('authorization') ? 'invalid_token' : undefined, 'a bearer token is required');
    return await (JWT_SHAPE.test(token) ? verifyJwt(token) : introspect(token));
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    ctx.status = err.status;
    const challenge = [`realm="things"`, ...(err.error ? [`error="${err.error}"`, `error_description="${err.message}"`] : [])];
    if (err.status !== 503) ctx.set('WWW-Authenticate', `Bearer ${challenge.join(', ')}`);
    ctx.body = { error: err.error ?? 'invalid_request', error_description: err.message };
    return undefined;
  }
}

const router = new Router();
router.get('/healthz', (ctx) => {
  ctx.body = { status: 'ok' };
});
router.get('/things', async (ctx) => {
  const who = await caller(ctx);
  if (!who) return;
  ctx.body = { things: ['a thing', 'another thing'], sub: who.sub, client_id: who.clientId, verified_by: who.via };
});

const app = new Koa();
app.use(async (ctx, next) => {
  ctx.set('Cache-Control', 'no-store');
  await next();
});
app.use(router.routes()).use(router.allowedMethods());
app.listen(port, () => console.log(`Example API at http://localhost:${port}/things (accepting tokens of ${issuer})`));
