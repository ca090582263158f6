// The hosted login for every app, under /apps/{appId}/interaction/{uid}:
//   GET  /            the email form (or, for a consent prompt, an automatic grant)
//   POST /email       validate the address, send the link, "check your email"
//   GET  /link?code=  the link from the mail: a page with a button, never a state change
//   POST /link        consumes the code, once, in the browser that started the login
// The `_interaction` cookie oidc-provider sets is scoped to this path, which is what binds
// a link to the browser that asked for it.
import Router from '@koa/router';
import type { Context } from 'koa';
import { errors } from 'oidc-provider';
import { normalizeEmail } from '../src/accounts/email-address.ts';
import { requestContext, type AuditLog } from '../src/audit.ts';
import { HttpError, notFound } from '../src/http/http-error.ts';
import { readForm } from '../src/http/read-body.ts';
import type { Logger } from '../src/log.ts';
import { signInMail } from '../src/mail/sign-in-mail.ts';
import type { Mailer } from '../src/mail/mailer.ts';
import type { MagicLinks } from '../src/magic-link/magic-links.ts';
import type { AccountStore } from '../src/storage/ports.ts';
import type { LiveProvider, ProviderRegistry } from '../src/tenancy/provider-registry.ts';
import { loginResult } from './consent.ts';
import type { Csrf } from './csrf.ts';
import { checkEmailPage, confirmLinkPage, errorPage, linkProblemPage, loginPage, type LinkProblem } from './views/pages.ts';

export interface LoginDeps {
  readonly registry: ProviderRegistry;
  readonly magicLinks: MagicLinks;
  readonly mailer: Mailer;
  readonly accounts: AccountStore;
  readonly csrf: Csrf;
  readonly audit: AuditLog;
  readonly logger: Logger;
}

type Details = Awaited<ReturnType<LiveProvider['provider']['interactionDetails']>>;

const UID = /^[A-Za-z0-9_-]{1,64}$/;
const PROBLEM_STATUS: Record<LinkProblem, number> = { expired: 410, used: 410, unknown: 404, other_browser: 403, attempt_gone: 400 };

export function loginRouter(deps: LoginDeps) {
  const router = new Router({ prefix: '/apps/:appId/interaction/:uid' });
  const { registry, magicLinks, csrf, audit } = deps;

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
      return details.uid === ctx.params.uid ? details : undefined;
    } catch (err) {
      if (err instanceof errors.SessionNotFound) return undefined;
      throw err;
    }
  }

  const base = (lp: LiveProvider, uid: string) => `/apps/${lp.app.id}/interaction/${uid}`;
  const cookiePath = (lp: LiveProvider) => `/apps/${lp.app.id}`;

  function problem(ctx: Context, lp: LiveProvider, kind: LinkProblem, restart: string | undefined) {
    html(ctx, PROBLEM_STATUS[kind], linkProblemPage({ kind, appName: lp.app.name, restart }));
  }

  async function finish(ctx: Context, lp: LiveProvider, details: Details, accountId: string) {
    const result = await loginResult(lp.provider, details, accountId);
    const to = await lp.provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(to);
  }

  function renderLogin(ctx: Context, lp: LiveProvider, uid: string, status = 200, email?: string, error?: string) {
    const token = csrf.issue(ctx, cookiePath(lp), `email:${uid}`);
    html(ctx, status, loginPage({ appName: lp.app.name, action: `${base(lp, uid)}/email`, csrf: token, email, error }));
  }

  router.get('/', async (ctx) => {
    const lp = await live(ctx);
    const details = await attempt(ctx, lp);
    if (!details) return problem(ctx, lp, 'attempt_gone', undefined);
    if (details.prompt.name === 'login') return renderLogin(ctx, lp, details.uid);
    if (details.prompt.name === 'consent' && details.session?.accountId) {
      return finish(ctx, lp, details, details.session.accountId);
    }
    throw new HttpError(400, 'invalid_request', 'This sign-in step is not supported.');
  });

  router.post('/email', async (ctx) => {
    const lp = await live(ctx);
    const details = await attempt(ctx, lp);
    if (!details || details.prompt.name !== 'login') return problem(ctx, lp, 'attempt_gone', undefined);
    const form = await readForm(ctx);
    if (!csrf.verify(ctx, `email:${details.uid}`, form.csrf)) {
      return renderLogin(ctx, lp, details.uid, 403, undefined, 'The form expired. Enter your email address again.');
    }
    const checked = normalizeEmail(form.email);
    if (!checked.ok) return renderLogin(ctx, lp, details.uid, 400, String(form.email ?? '').slice(0, 254), checked.reason);

    const clientId = String(details.params.client_id);
    const ttl = lp.app.settings.magic_link_ttl;
    const context = { app_id: lp.app.id, client_id: clientId, email: checked.email, ...requestContext(ctx) };
    const { code, expiresAt } = await magicLinks.issue({
      appId: lp.app.id,
      interactionUid: details.uid,
      email: checked.email,
      clientId,
      ttl,
    });
    audit.record({ type: 'link.requested', outcome: 'success', ...context });
    const link = `${lp.issuer}/interaction/${details.uid}/link?code=${code}`;
    try {
      await deps.mailer.send(signInMail({ to: checked.email, appName: lp.app.name, link, ttlSeconds: ttl, expiresAt }));
      audit.record({ type: 'mail.sent', outcome: 'success', ...context });
    } catch (err) {
      audit.record({ type: 'mail.failed', outcome: 'failure', reason: 'smtp error', ...context });
      deps.logger.error('sign-in mail failed', { app_id: lp.app.id, request_id: ctx.state.requestId, err: String(err) });
      return html(
        ctx,
        503,
        errorPage({
          title: 'We could not send the email',
          message: 'Sending the sign-in email failed. Wait a minute, then go back and try again.',
          reference: ctx.state.requestId,
        }),
      );
    }
    html(ctx, 200, checkEmailPage({ appName: lp.app.name, email: checked.email, minutes: Math.round(ttl / 60), restart: base(lp, details.uid) }));
  });

  /** Looks a code up for this attempt; a code of another attempt counts as unknown. */
  async function lookup(lp: LiveProvider, uid: string, code: unknown) {
    const found = await magicLinks.inspect(lp.app.id, typeof code === 'string' ? code : '');
    if (found.record && found.record.interactionUid !== uid) return { status: 'unknown' as const, record: undefined };
    return found;
  }

  router.get('/link', async (ctx) => {
    const lp = await live(ctx);
    const uid = ctx.params.uid!;
    const code = ctx.query.code;
    const found = await lookup(lp, uid, code);
    const details = await attempt(ctx, lp);
    const restart = details ? base(lp, uid) : undefined;
    const context = { app_id: lp.app.id, client_id: found.record?.clientId, email: found.record?.email, ...requestContext(ctx) };
    audit.record({ type: 'link.opened', outcome: found.status === 'valid' ? 'success' : 'failure', reason: found.status, ...context });
    if (found.status !== 'valid') return problem(ctx, lp, found.status, restart);
    if (!details) return problem(ctx, lp, 'other_browser', undefined);
    const token = csrf.issue(ctx, cookiePath(lp), `link:${uid}`);
    html(ctx, 200, confirmLinkPage({ appName: lp.app.name, action: `${base(lp, uid)}/link`, csrf: token, code: String(code) }));
  });

  router.post('/link', async (ctx) => {
    const lp = await live(ctx);
    const uid = ctx.params.uid!;
    const form = await readForm(ctx);
    const details = await attempt(ctx, lp);
    const context = { app_id: lp.app.id, ...requestContext(ctx) };
    const reject = (reason: LinkProblem, restart: string | undefined, extra: object = {}) => {
      audit.record({ type: 'link.rejected', outcome: 'failure', reason, ...context, ...extra });
      problem(ctx, lp, reason, restart);
    };
    const before = await lookup(lp, uid, form.code);
    if (before.status !== 'valid') return reject(before.status, details ? base(lp, uid) : undefined);
    // Checked before the code is touched: another browser must not use it up.
    if (!details) return reject('other_browser', undefined);
    if (!csrf.verify(ctx, `link:${uid}`, form.csrf)) {
      audit.record({ type: 'link.rejected', outcome: 'failure', reason: 'csrf', ...context });
      return html(ctx, 403, errorPage({ title: 'Please try again', message: 'The page expired. Open the link from your email again.' }));
    }
    const used = await magicLinks.consume(lp.app.id, String(form.code));
    if (used.status !== 'valid') return reject(used.status, base(lp, uid));
    const { email, clientId } = used.record!;
    await deps.accounts.recordLogin(lp.app.id, email, Date.now());
    audit.record({ type: 'link.accepted', outcome: 'success', client_id: clientId, email, ...context });
    await finish(ctx, lp, details, email);
  });

  return router;
}
