// The hosted login for every app, under /apps/{appId}/interaction/{uid}:
//   GET  /            the email form (or, for a consent prompt with a session, consent given at once)
//   POST /email       validate the address, send the link, "check your email"
//   POST /resend      one click: a new link to the same address for the same attempt
//   POST /code        the short code from the mail, typed in this browser
//   GET  /link?code=  the link from the mail: a page with a button, never a state change
//   POST /link        consumes the code, once, in the browser that started the login
// The `_interaction` cookie oidc-provider sets is scoped to this path, which is what binds
// a link to the browser that asked for it. The steps themselves (limits, accounts, audit)
// are the sign-in service's; these routes read the request and pick the page.
import type { Context } from 'koa';
import { MAX_EMAIL_LENGTH, normalizeEmail } from '../src/accounts/email-address.ts';
import { appPath } from '../src/apps/app-paths.ts';
import { badRequest } from '../src/errors.ts';
import { readForm } from '../src/http/read-body.ts';
import { requestInfo } from '../src/http/request-info.ts';
import { exactRouter } from '../src/http/request-path.ts';
import type { SignIn } from '../src/sign-in/sign-in.ts';
import type { ProviderRegistry } from '../src/tenancy/provider-registry.ts';
import type { Csrf } from './csrf.ts';
import { attemptOf, finishLogin, finishWithConsent, loginPage, type Details, type LoginPage } from './login-attempt.ts';
import { LoginPages } from './login-pages.ts';

export interface LoginDeps {
  readonly registry: ProviderRegistry;
  readonly signIn: SignIn;
  readonly csrf: Csrf;
}

/** The page itself; the engine links to it without a trailing slash. */
export const LOGIN_PAGE = `${appPath(':appId')}/interaction/:uid`;

export function loginRouter(deps: LoginDeps) {
  const router = exactRouter();
  const { signIn } = deps;
  const pages = new LoginPages(deps.csrf, signIn);

  /** Reads the form and checks its CSRF token; undefined (and a page) when it fails. */
  async function checkedForm(ctx: Context, page: LoginPage, details: Details, purpose: string) {
    const body = await readForm(ctx);
    if (deps.csrf.verify(ctx, `${purpose}:${page.uid}`, body.csrf)) return body;
    signIn.formRejected(page.live.app.id, purpose, requestInfo(ctx));
    if (purpose === 'email') pages.login(ctx, page, details, 403, undefined, 'form_expired');
    else pages.expired(ctx, page, details, 'form');
    return undefined;
  }

  router.get(LOGIN_PAGE, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const details = await attemptOf(ctx, page, { anyPrompt: true });
    if (!details) return pages.problem(ctx, page, 'attempt_gone', undefined);
    if (details.prompt.name === 'login') {
      // An app that knows the address passes it as login_hint; it is only ever a
      // suggestion in the field (escaped), never used without the person submitting it.
      const hint = normalizeEmail(details.params.login_hint);
      return pages.login(ctx, page, details, 200, hint.ok ? hint.email : undefined);
    }
    // Signed in already, asked for consent only (offline_access, prompt=consent): given,
    // with no new sign-in recorded.
    if (details.prompt.name === 'consent' && details.session?.accountId) return finishWithConsent(ctx, page);
    throw badRequest('This sign-in step is not supported.');
  });

  router.post(`${LOGIN_PAGE}/email`, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const details = await attemptOf(ctx, page);
    if (!details) return pages.problem(ctx, page, 'attempt_gone', undefined);
    const body = await checkedForm(ctx, page, details, 'email');
    if (!body) return;
    const checked = normalizeEmail(body.email);
    if (!checked.ok) return pages.login(ctx, page, details, 400, String(body.email ?? '').slice(0, MAX_EMAIL_LENGTH), checked.problem);
    const ttl = await signIn.requestLink(page.attempt(details), checked.email, requestInfo(ctx));
    if (ttl === undefined) return pages.problem(ctx, page, 'attempt_gone', undefined);
    pages.checkEmail(ctx, page, details, checked.email, ttl);
  });

  router.post(`${LOGIN_PAGE}/resend`, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const details = await attemptOf(ctx, page);
    if (!details) return pages.problem(ctx, page, 'attempt_gone', undefined);
    if (!(await checkedForm(ctx, page, details, 'resend'))) return;
    const resent = await signIn.resendLink(page.attempt(details), requestInfo(ctx));
    if (!resent) return pages.login(ctx, page, details);
    if (resent.ttl === undefined) return pages.problem(ctx, page, 'attempt_gone', undefined);
    pages.checkEmail(ctx, page, details, resent.email, resent.ttl, { resent: true });
  });

  router.post(`${LOGIN_PAGE}/code`, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const details = await attemptOf(ctx, page);
    if (!details) return pages.problem(ctx, page, 'attempt_gone', undefined);
    const body = await checkedForm(ctx, page, details, 'code');
    if (!body) return;
    const outcome = await signIn.typeCode(page.attempt(details), body.code, requestInfo(ctx));
    switch (outcome.kind) {
      case 'accepted':
        return finishLogin(ctx, page, outcome.email);
      case 'no_link':
        return pages.login(ctx, page, details);
      case 'rate_limited':
        return pages.checkEmail(ctx, page, details, outcome.email, outcome.ttl, { status: 429, problem: { kind: 'rate_limited' } });
      case 'wrong':
        return pages.checkEmail(ctx, page, details, outcome.email, outcome.ttl, { status: 400, problem: { kind: 'wrong', attemptsLeft: outcome.attemptsLeft } });
      case 'malformed':
        return pages.checkEmail(ctx, page, details, outcome.email, outcome.ttl, { status: 400, problem: { kind: 'malformed' } });
      case 'problem':
        return pages.problem(ctx, page, outcome.problem, details);
    }
  });

  router.get(`${LOGIN_PAGE}/link`, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const { code, lang } = ctx.query;
    const attempt = attemptOf(ctx, page);
    const outcome = await signIn.openLink(page.live.app.id, page.uid, code, attempt.then((details) => details !== undefined), requestInfo(ctx));
    const details = await attempt;
    if (outcome.kind === 'confirm') return pages.confirmLink(ctx, page, page.presentation(details, lang), String(code));
    return pages.problem(ctx, page, outcome.problem, details, { shortCode: outcome.shortCode, pinned: lang });
  });

  router.post(`${LOGIN_PAGE}/link`, async (ctx) => {
    const page = await loginPage(ctx, deps.registry);
    const body = await readForm(ctx);
    const details = await attemptOf(ctx, page);
    const csrfValid = deps.csrf.verify(ctx, `link:${page.uid}`, body.csrf);
    const outcome = await signIn.confirmLink(page.live.app.id, page.uid, body.code, details !== undefined, csrfValid, requestInfo(ctx));
    switch (outcome.kind) {
      case 'accepted':
        return finishLogin(ctx, page, outcome.email);
      case 'csrf':
        return pages.expired(ctx, page, details, 'link', body.lang);
      case 'problem':
        return pages.problem(ctx, page, outcome.problem, details, { shortCode: outcome.shortCode, pinned: body.lang });
    }
  });

  return router;
}
