// Every signing algorithm an app may choose can be registered at every app, although an
// app holds keys only for the algorithms its clients sign with (keys/key-ring.ts). The
// engine offers and accepts only the algorithms its Provider holds keys of (engine.ts,
// A45), so Postern does two things around it:
// - discovery lists every algorithm a client may register (OpenID Connect Discovery
//   requires RS256 among them), rewritten after the engine;
// - a Dynamic Client Registration (RFC 7591) or update (RFC 7592) naming an algorithm the
//   app has no key of gets the app its keys first, in a write of their own, and is then
//   handled by the Provider rebuilt with them. Only a caller the engine will let register
//   causes that (a usable initial access token, open registration, or the client's
//   registration access token), and each algorithm's keys are made once per app: an
//   unauthenticated request never makes a key, and no burst makes more than one pair per
//   algorithm. Should the engine then refuse the registration for another reason, the
//   keys stay (each signs; the app keeps every algorithm it once held).
import type { Context, Middleware } from 'koa';
import type { Provider } from 'oidc-provider';
import { clientSigningAlgs, SIGNING_ALGS, signingOf } from '../apps/client-options.ts';
import { initialAccessTokenHash, usableInitialAccessToken } from '../apps/clients.ts';
import type { AppsService } from '../apps/apps-service.ts';
import type { Clock } from '../clock.ts';
import { declaredLength, peekBody } from '../http/read-body.ts';
import type { AppRecord, SigningAlg } from '../storage/ports.ts';
import { ENGINE_BODY_LIMIT, isEngineRoute, outsideEngineRoutes, PUBLIC_DOCUMENT_ROUTES } from './engine.ts';
import { REGISTRATION_PATH } from './shared-configuration.ts';

/** The discovery fields that list signing algorithms a client may register for its responses. */
const SIGNING_ALG_FIELDS = ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported', 'introspection_signing_alg_values_supported'];

/**
 * Middleware for `provider.use`: discovery lists every algorithm a client may register
 * (A45). Anything but discovery passes at the cost of a call, as the other middlewares
 * around the engine do.
 */
export const advertiseRegistrableAlgorithms: Middleware = (ctx, next) =>
  isEngineRoute(ctx, ctx.path, 'GET', PUBLIC_DOCUMENT_ROUTES.discovery) ? next().then(() => listEveryAlgorithm(ctx)) : next();

function listEveryAlgorithm(ctx: Context): void {
  const body = ctx.body as Record<string, unknown> | null;
  if (ctx.status !== 200 || typeof body !== 'object' || body === null) return;
  for (const field of SIGNING_ALG_FIELDS) if (Array.isArray(body[field])) body[field] = [...SIGNING_ALGS];
}

/** RFC 7592: PUT {issuer}/reg/{client_id}, in any ASCII case (A17). */
const CLIENT_CONFIGURATION = new RegExp(`^${REGISTRATION_PATH}/([^/]+)/?$`, 'i');

export interface RegistrationKeysDeps {
  readonly apps: Pick<AppsService, 'get' | 'addSigningKeys'>;
  readonly kek: Buffer;
  readonly clock: Clock;
}

/**
 * Before the engine handles a request under the app's issuer (`path`: the part after it):
 * adds the keys a registration or client update names and the app lacks. Resolves to true
 * when it added keys, so the caller hands the request to the rebuilt Provider.
 */
export function keysBeforeRegistration(deps: RegistrationKeysDeps) {
  // Anything but a registration or a client update is answered at once, with no promise.
  return (ctx: Context, appId: string, path: string, provider: Provider): boolean | Promise<boolean> => {
    const registering = isEngineRoute(ctx, path, 'POST', REGISTRATION_PATH);
    const updating = ctx.method === 'PUT' ? CLIENT_CONFIGURATION.exec(path)?.[1] : undefined;
    return registering || updating !== undefined ? keysFor(ctx, appId, updating, provider) : false;
  };

  async function keysFor(ctx: Context, appId: string, updating: string | undefined, provider: Provider): Promise<boolean> {
    const metadata = await metadataOf(ctx);
    if (!metadata) return false;
    const app = await deps.apps.get(appId);
    const held = new Set(app.keys.map((k) => k.alg));
    const missing = [...new Set(clientSigningAlgs(metadata, signingOf(app).idToken))].filter((alg) => !held.has(alg));
    if (missing.length === 0 || !(await mayRegister(ctx, app, updating, provider, deps))) return false;
    await deps.apps.addSigningKeys(appId, missing satisfies SigningAlg[]);
    return true;
  }
}

/** The JSON object the request carries, within what the engine reads (A1); undefined for anything else, which the engine refuses itself. */
async function metadataOf(ctx: Context): Promise<Record<string, unknown> | undefined> {
  const length = declaredLength(ctx);
  if (length === undefined || length > ENGINE_BODY_LIMIT || !ctx.is('application/json')) return undefined;
  try {
    const parsed: unknown = JSON.parse((await peekBody(ctx)).toString('utf8'));
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the engine will let this caller register (or update `clientId`): a Bearer
 * initial access token with a use left, no token at an app with open registration, or
 * the client's own registration access token.
 */
async function mayRegister(ctx: Context, app: AppRecord, clientId: string | undefined, provider: Provider, deps: RegistrationKeysDeps): Promise<boolean> {
  const bearer = /^Bearer ([^\s]+)$/i.exec(ctx.get('authorization'))?.[1];
  if (clientId !== undefined) {
    const token = bearer && (await outsideEngineRoutes(provider.RegistrationAccessToken.find(bearer)));
    return !!token && token.clientId === clientId;
  }
  if (bearer === undefined) return ctx.get('authorization') === '' && !!app.openRegistration;
  return !!usableInitialAccessToken(app, initialAccessTokenHash(deps.kek, bearer), deps.clock.now());
}
