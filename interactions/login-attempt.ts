// The login attempt behind a hosted page: the app's live Provider, the attempt's uid and,
// when this browser holds the attempt, the engine's interaction details. Also how an
// attempt ends: the engine's documented interactionResult, with the result of consent.ts.
import type { Context } from 'koa';
import { errors, type InteractionResults } from 'oidc-provider';
import { appPath } from '../src/apps/app-paths.ts';
import { notFound } from '../src/errors.ts';
import { presentationFor } from '../src/http/page-response.ts';
import { asRequest } from '../src/oidc/engine.ts';
import type { Attempt } from '../src/sign-in/sign-in.ts';
import type { LiveProvider, ProviderRegistry } from '../src/tenancy/provider-registry.ts';
import { consentResult, loginResult } from './consent.ts';
import type { Presentation } from './views/layout.ts';

export type Details = Awaited<ReturnType<LiveProvider['provider']['interactionDetails']>>;

const UID = /^[A-Za-z0-9_-]{1,64}$/;

export interface LoginPage {
  readonly live: LiveProvider;
  readonly uid: string;
  /** The page's own path; its forms post to `${path}/{purpose}`, and its CSRF cookie is scoped to it. */
  readonly path: string;
  attempt(details: Details): Attempt;
  /**
   * The app and the person's language: the one `pinned` by the link from the mail, else
   * the authorization request's ui_locales (when this browser holds the attempt), else
   * the browser's preference, else the app's default.
   */
  presentation(details: Details | undefined, pinned?: unknown): Presentation;
}

/** The app and attempt a hosted page is for; 404 for an unknown app or a malformed uid. */
export async function loginPage(ctx: Context, registry: ProviderRegistry): Promise<LoginPage> {
  const live = await registry.get(ctx.params.appId!);
  const uid = ctx.params.uid!;
  if (!live || !UID.test(uid)) throw notFound('No such sign-in page.');
  const presentation = (details: Details | undefined, pinned?: unknown) =>
    presentationFor(ctx, live.app, { uiLocales: details?.params.ui_locales, pinned, clientId: details?.params.client_id });
  return {
    live,
    uid,
    path: `${appPath(live.app.id)}/interaction/${uid}`,
    attempt: (details) => ({
      app: live.app,
      issuer: live.issuer,
      uid,
      clientId: String(details.params.client_id),
      language: presentation(details).language,
      // The engine stamps `exp` by its own clock, Date.now (not Postern's, which tests move).
      timeLeft: details.exp * 1000 - Date.now(),
    }),
    presentation,
  };
}

/**
 * The engine's details of the attempt this page is for, or undefined when this browser
 * holds no attempt, or another one. Unless `anyPrompt`, only an attempt at its login step.
 * Read as this request's (A67): `finishLogin` reads the attempt again, from this copy
 * unless something wrote the interaction in between.
 */
export async function attemptOf(ctx: Context, page: LoginPage, options: { anyPrompt?: boolean } = {}): Promise<Details | undefined> {
  try {
    const details = await asRequest(ctx, () => page.live.provider.interactionDetails(ctx.req, ctx.res));
    if (details.uid !== page.uid) return undefined;
    return options.anyPrompt || details.prompt.name === 'login' ? details : undefined;
  } catch (err) {
    if (err instanceof errors.SessionNotFound) return undefined;
    throw err;
  }
}

/** Ends the attempt signed in as `accountId` (a link or code just used) and sends the browser back to the engine. */
export function finishLogin(ctx: Context, page: LoginPage, accountId: string): Promise<void> {
  return finish(ctx, page, loginResult(accountId));
}

/**
 * Ends an attempt that asks only for consent, for the account the browser's session is
 * signed in to already: its sign-in time (auth_time, max_age) stays as it was.
 */
export function finishWithConsent(ctx: Context, page: LoginPage): Promise<void> {
  return finish(ctx, page, consentResult());
}

async function finish(ctx: Context, page: LoginPage, result: InteractionResults): Promise<void> {
  const { provider } = page.live;
  // The engine reads the attempt (and its session) again: the copy `attemptOf` read (A67).
  const to = await asRequest(ctx, () => provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }));
  ctx.status = 303;
  ctx.redirect(to);
}
