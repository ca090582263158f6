// The pages of the hosted login, each with the forms (action and CSRF token) it needs.
import type { Context } from 'koa';
import { clientDisplayOf } from '../src/apps/clients.ts';
import type { SignIn } from '../src/sign-in/sign-in.ts';
import type { Csrf } from './csrf.ts';
import type { Details, LoginPage } from './login-attempt.ts';
import { checkEmailPage, confirmLinkPage, errorPage, linkProblemPage, loginPage, type LinkProblem } from './views/pages.ts';

const PROBLEM_STATUS: Record<LinkProblem, number> = {
  expired: 410,
  used: 410,
  superseded: 410,
  locked: 410,
  unknown: 404,
  other_browser: 403,
  attempt_gone: 400,
};

function html(ctx: Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.body = body;
}

export class LoginPages {
  readonly #csrf: Csrf;
  readonly #signIn: SignIn;
  constructor(csrf: Csrf, signIn: SignIn) {
    this.#csrf = csrf;
    this.#signIn = signIn;
  }

  #form(ctx: Context, page: LoginPage, purpose: string) {
    return { action: `${page.path}/${purpose}`, csrf: this.#csrf.issue(ctx, page.cookiePath, `${purpose}:${page.uid}`) };
  }

  /** `clientId`: the client signing in, whose registered name the page shows (the app's for its default client). */
  login(ctx: Context, page: LoginPage, status = 200, email?: string, error?: string, clientId?: string): void {
    const target = this.#form(ctx, page, 'email');
    const appName = clientDisplayOf(page.live.app, clientId).name;
    html(ctx, status, loginPage({ appName, action: target.action, csrf: target.csrf, email, error }));
  }

  checkEmail(ctx: Context, page: LoginPage, email: string, status = 200, error?: string): void {
    html(
      ctx,
      status,
      checkEmailPage({
        appName: page.live.app.name,
        email,
        minutes: Math.round(page.live.app.settings.magic_link_ttl / 60),
        restart: page.path,
        code: this.#form(ctx, page, 'code'),
        resend: this.#form(ctx, page, 'resend'),
        error,
      }),
    );
  }

  confirmLink(ctx: Context, page: LoginPage, code: string): void {
    const target = this.#form(ctx, page, 'link');
    html(ctx, 200, confirmLinkPage({ appName: page.live.app.name, action: target.action, csrf: target.csrf, code }));
  }

  /** A problem page; in the browser that owns the attempt it offers a one-click new link. */
  async problem(ctx: Context, page: LoginPage, kind: LinkProblem, details: Details | undefined, shortCode?: string): Promise<void> {
    const canResend = details && kind !== 'attempt_gone' && (await this.#signIn.emailOf(page.live.app.id, details.uid));
    const resend = canResend ? this.#form(ctx, page, 'resend') : undefined;
    html(ctx, PROBLEM_STATUS[kind], linkProblemPage({ kind, appName: page.live.app.name, resend, shortCode }));
  }

  /** A form whose CSRF token no longer verifies. */
  expired(ctx: Context, message: string): void {
    html(ctx, 403, errorPage({ title: 'Please try again', message }));
  }
}
