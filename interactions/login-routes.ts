// The hosted login for every app, under /apps/{appId}/interaction/{uid}:
//   GET  /            the email form (or, for a consent prompt, an automatic grant)
//   POST /email       validate the address, send the link, "check your email"
//   POST /resend      one click: a new link to the same address for the same attempt
//   POST /code        the short code from the mail, typed in this browser
//   GET  /link?code=  the link from the mail: a page with a button, never a state change
//   POST /link        consumes the code, once, in the browser that started the login
// The `_interaction` cookie oidc-provider sets is scoped to this path, which is what binds
// a link to the browser that asked for it.
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import { normalizeEmail } from '../src/accounts/email-address.ts';
import { requestContext, type AuditLog } from '../src/audit.ts';
import { HttpError, notFound } from '../src/http/http-error.ts';
import { readForm } from '../src/http/read-body.ts';
import { exactRouter } from '../src/http/request-path.ts';
import type { LinkRequests } from '../src/magic-link/link-requests.ts';
import { formatShortCode, shortCodeOf, type MagicLinks } from '../src/magic-link/magic-links.ts';
import type { AccountStore, RateLimiter } from '../src/storage/ports.ts';
import type { LiveProvider, ProviderRegistry } from '../src/tenancy/provider-registry.ts';
import { loginResult } from './consent.ts';
import type { Csrf } from './csrf.ts';
import { checkEmailPage, confirmLinkPage, errorPage, linkProblemPage, loginPage, type LinkProblem } from './views/pages.ts';

export interface LoginDeps {
  readonly registry: ProviderRegistry;
  readonly magicLinks: MagicLinks;
  readonly linkRequests: LinkRequests;
  readonly accounts: AccountStore;
  readonly csrf: Csrf;
  readonly audit: AuditLog;
  /** Wrong short codes per client IP (across attempts). */
  readonly wrongCodesPerIp: RateLimiter;
}

type Details = Awaited<ReturnType<LiveProvider['provider']['interactionDetails']>>;

const UID = /^[A-Za-z0-9_-]{1,64}$/;
const PROBLEM_STATUS: Record<LinkProblem, number> = {
  expired: 410,
  used: 410,
  superseded: 410,
  locked: 410,
  unknown: 404,
  other_browser: 403,
  attempt_gone: 400,
};

export function loginRouter(deps: LoginDeps) {
  // No prefix: a strict router would turn the page itself ('/' under a prefix) into a
  // path with a trailing slash, and the engine links to it without one.
  const router = exactRouter();
  const PAGE = '/apps/:appId/interaction/:uid';
  const { registry, magicLinks, linkRequests, csrf, audit } = deps;

  function html(ctx: Context, status: number, body: string) {
    ctx.status = status;
    ctx.type = 'html';
    ctx.body = body;
  }

  async function live(ctx: Context): Promise<LiveProvider> {
    const found = await registry.get(ctx.params.appId!);
    if (!found || !UID.test(ctx.params.uid!)) throw notFound('No such sign-in page.');
    return found;
  }

  /** The login attempt of this browser, or undefined when the browser has none for this uid. */
  async function attempt(ctx: Context, lp: LiveProvider): Promise<Details | undefined> {
    try {
      const details = await lp.provider.interactionDetails(ctx.req, ctx.res);
      return details.uid === ctx.params.uid && details.prompt.name === 'login' ? details : undefined;
    } catch (err) {
      if (err instanceof errors.SessionNotFound) return undefined;
      throw err;
    }
  }

  const base = (lp: LiveProvider, uid: string) => `/apps/${lp.app.id}/interaction/${uid}`;
  const cookiePath = (lp: LiveProvider) => `/apps/${lp.app.id}`;
  const form = (ctx: Context, lp: LiveProvider, uid: string, purpose: string) => ({
    action: `${base(lp, uid)}/${purpose}`,
    csrf: csrf.issue(ctx, cookiePath(lp), `${purpose}:${uid}`),
  });

  /** A problem page; in the browser that owns the attempt it offers a one-click new link. */
  async function problem(ctx: Context, lp: LiveProvider, kind: LinkProblem, details: Details | undefined, shortCode?: string) {
    const canResend = details && kind !== 'attempt_gone' && (await magicLinks.latest(lp.app.id, details.uid));
    const resend = canResend ? form(ctx, lp, details.uid, 'resend') : undefined;
    html(ctx, PROBLEM_STATUS[kind], linkProblemPage({ kind, appName: lp.app.name, resend, shortCode }));
  }

  async function finish(ctx: Context, lp: LiveProvider, details: Details, accountId: string) {
    const result = await loginResult(lp.provider, details, accountId);
    const to = await lp.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  }

  function linkRequest(ctx: Context, lp: LiveProvider, details: Details, email: string) {
    const { ip, user_agent, request_id } = requestContext(ctx);
    return {
      app: lp.app,
      issuer: lp.issuer,
      interactionUid: details.uid,
      clientId: String(details.params.client_id),
      email,
      client: { ip, user_agent, request_id },
    };
  }

  function renderLogin(ctx: Context, lp: LiveProvider, uid: string, status = 200, email?: string, error?: string) {
    const target = form(ctx, lp, uid, 'email');
    html(ctx, status, loginPage({ appName: lp.app.name, action: target.action, csrf: target.csrf, email, error }));
  }

  function renderCheckEmail(ctx: Context, lp: LiveProvider, uid: string, email: string, status = 200, error?: string) {
    html(
      ctx,
      status,
      checkEmailPage({
        appName: lp.app.name,
        email,
        minutes: Math.round(lp.app.settings.magic_link_ttl / 60),
        restart: base(lp, uid),
        code: form(ctx, lp, uid, 'code'),
        resend: form(ctx, lp, uid, 'resend'),
        error,
      }),
    );
  }

  /** Reads the form and checks its CSRF token; undefined (and a page) when it fails. */
  async function checkedForm(ctx: Context, lp: LiveProvider, details: Details, purpose: string) {
    const body = await readForm(ctx);
    if (csrf.verify(ctx, `${purpose}:${details.uid}`, body.csrf)) return body;
    audit.record({ type: 'form.rejected', outcome: 'failure', reason: `csrf (${purpose})`, app_id: lp.app.id, ...requestContext(ctx) });
    if (purpose === 'email') renderLogin(ctx, lp, details.uid, 403, undefined, 'The form expired. Enter your email address again.');
    else html(ctx, 403, errorPage({ title: 'Please try again', message: 'The page expired. Go back and try again.' }));
    return undefined;
  }

  router.get(PAGE, async (ctx) => {
    const lp = await live(ctx);
    let details: Details;
    try {
      details = await lp.provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      if (err instanceof errors.SessionNotFound) return problem(ctx, lp, 'attempt_gone', undefined);
      throw err;
    }
    if (details.uid !== ctx.params.uid) return problem(ctx, lp, 'attempt_gone', undefined);
    if (details.prompt.name === 'login') {
      // An app that knows the address passes it as login_hint; it is only ever a
      // suggestion in the field (escaped), never used without the person submitting it.
      const hint = normalizeEmail(details.params.login_hint);
      return renderLogin(ctx, lp, details.uid, 200, hint.ok ? hint.email : undefined);
    }
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      return finish(ctx, lp, details, details.session.accountId);
    }
    throw new HttpError(400, 'invalid_request', 'This sign-in step is not supported.');
  });

  router.post(`${PAGE}/email`, async (ctx) => {
    const lp = await live(ctx);
    const details = await attempt(ctx, lp);
    if (!details) return problem(ctx, lp, 'attempt_gone', undefined);
    const body = await checkedForm(ctx, lp, details, 'email');
    if (!body) return;
    const checked = normalizeEmail(body.email);
    if (!checked.ok) return renderLogin(ctx, lp, details.uid, 400, String(body.email ?? '').slice(0, 254), checked.reason);
    await linkRequests.request(linkRequest(ctx, lp, details, checked.email));
    renderCheckEmail(ctx, lp, details.uid, checked.email);
  });

  router.post(`${PAGE}/resend`, async (ctx) => {
    const lp = await live(ctx);
    const details = await attempt(ctx, lp);
    if (!details) return problem(ctx, lp, 'attempt_gone', undefined);
    if (!(await checkedForm(ctx, lp, details, 'resend'))) return;
    const latest = await magicLinks.latest(lp.app.id, details.uid);
    if (!latest) return renderLogin(ctx, lp, details.uid);
    await linkRequests.request(linkRequest(ctx, lp, details, latest.email));
    renderCheckEmail(ctx, lp, details.uid, latest.email);
  });

  router.post(`${PAGE}/code`, async (ctx) => {
    const lp = await live(ctx);
    const details = await attempt(ctx, lp);
    if (!details) return problem(ctx, lp, 'attempt_gone', undefined);
    const body = await checkedForm(ctx, lp, details, 'code');
    if (!body) return;
    const context = { app_id: lp.app.id, ...requestContext(ctx) };
    const latest = await magicLinks.latest(lp.app.id, details.uid);
    if (!latest) return renderLogin(ctx, lp, details.uid);
    if (!(await deps.wrongCodesPerIp.hit(`${ctx.ip}`))) {
      audit.record({ type: 'code.rejected', outcome: 'failure', reason: 'rate limited', email: latest.email, ...context });
      return renderCheckEmail(ctx, lp, details.uid, latest.email, 429, 'Too many attempts from your network. Wait a few minutes, or open the link from the email.');
    }
    const result = await magicLinks.checkShortCode(lp.app.id, details.uid, body.code);
    if (result.status === 'valid') {
      await deps.accounts.recordLogin(lp.app.id, result.record.email, Date.now());
      audit.record({ type: 'code.accepted', outcome: 'success', client_id: result.record.clientId, email: result.record.email, ...context });
      return finish(ctx, lp, details, result.record.email);
    }
    audit.record({ type: 'code.rejected', outcome: 'failure', reason: result.status, email: latest.email, ...context });
    if (result.status === 'wrong') {
      const left = `${result.attemptsLeft} attempt${result.attemptsLeft === 1 ? '' : 's'} left`;
      return renderCheckEmail(ctx, lp, details.uid, latest.email, 400, `That code is not right (${left}). Check the email and type it again.`);
    }
    return problem(ctx, lp, result.status === 'none' ? 'unknown' : result.status, details);
  });

  /** Looks a code up for this attempt; a code of another attempt counts as unknown. */
  async function lookup(lp: LiveProvider, uid: string, code: unknown) {
    const found = await magicLinks.inspect(lp.app.id, typeof code === 'string' ? code : '');
    if (found.record && found.record.interactionUid !== uid) return { status: 'unknown' as const, record: undefined };
    return found;
  }

  router.get(`${PAGE}/link`, async (ctx) => {
    const lp = await live(ctx);
    const uid = ctx.params.uid!;
    const code = ctx.query.code;
    const found = await lookup(lp, uid, code);
    const details = await attempt(ctx, lp);
    const context = { app_id: lp.app.id, client_id: found.record?.clientId, email: found.record?.email, ...requestContext(ctx) };
    audit.record({ type: 'link.opened', outcome: found.status === 'valid' ? 'success' : 'failure', reason: found.status, ...context });
    if (found.status !== 'valid') return problem(ctx, lp, found.status, details);
    // Another browser learns how to continue where the login started, and nothing more.
    if (!details) return problem(ctx, lp, 'other_browser', undefined, formatShortCode(shortCodeOf(String(code))));
    const target = form(ctx, lp, uid, 'link');
    html(ctx, 200, confirmLinkPage({ appName: lp.app.name, action: target.action, csrf: target.csrf, code: String(code) }));
  });

  router.post(`${PAGE}/link`, async (ctx) => {
    const lp = await live(ctx);
    const uid = ctx.params.uid!;
    const body = await readForm(ctx);
    const details = await attempt(ctx, lp);
    const context = { app_id: lp.app.id, ...requestContext(ctx) };
    const reject = (reason: LinkProblem, shortCode?: string) => {
      audit.record({ type: 'link.rejected', outcome: 'failure', reason, ...context });
      return problem(ctx, lp, reason, details, shortCode);
    };
    const before = await lookup(lp, uid, body.code);
    if (before.status !== 'valid') return reject(before.status);
    // Checked before the code is touched: another browser must not use it up.
    if (!details) return reject('other_browser', formatShortCode(shortCodeOf(String(body.code))));
    if (!csrf.verify(ctx, `link:${uid}`, body.csrf)) {
      audit.record({ type: 'link.rejected', outcome: 'failure', reason: 'csrf', ...context });
      return html(ctx, 403, errorPage({ title: 'Please try again', message: 'The page expired. Open the link from your email again.' }));
    }
    const used = await magicLinks.use(before.record!);
    if (used.status !== 'valid') return reject(used.status);
    const { email, clientId } = used.record!;
    await deps.accounts.recordLogin(lp.app.id, email, Date.now());
    audit.record({ type: 'link.accepted', outcome: 'success', client_id: clientId, email, ...context });
    await finish(ctx, lp, details, email);
  });

  return router;
}
