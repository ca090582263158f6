// The pages of the hosted login, each with the forms (action and CSRF token) it needs, in
// the person's language and with the app's branding (LoginPage.presentation).
import type { Context } from 'koa';
import { MAX_EMAIL_LENGTH } from '../src/accounts/email-address.ts';
import { sendPage } from '../src/http/page-response.ts';
import type { SignIn } from '../src/sign-in/sign-in.ts';
import { durationIn, messagesFor } from '../src/text/language.ts';
import type { Csrf } from './csrf.ts';
import type { Details, LoginPage } from './login-attempt.ts';
import type { Presentation } from './views/layout.ts';
import {
  checkEmailPage,
  confirmLinkPage,
  errorPage,
  linkProblemPage,
  loginPage,
  type CodeProblem,
  type EmailProblem,
  type LinkProblem,
} from './views/pages.ts';

const PROBLEM_STATUS: Record<LinkProblem, number> = {
  expired: 410,
  used: 410,
  superseded: 410,
  locked: 410,
  unknown: 404,
  other_browser: 403,
  attempt_gone: 400,
};

export class LoginPages {
  readonly #csrf: Csrf;
  readonly #signIn: SignIn;
  constructor(csrf: Csrf, signIn: SignIn) {
    this.#csrf = csrf;
    this.#signIn = signIn;
  }

  #form(ctx: Context, page: LoginPage, purpose: string) {
    return { action: `${page.path}/${purpose}`, csrf: this.#csrf.issue(ctx, page.path, `${purpose}:${page.uid}`) };
  }

  login(ctx: Context, page: LoginPage, details: Details | undefined, status = 200, email?: string, problem?: EmailProblem): void {
    const target = this.#form(ctx, page, 'email');
    const presentation = page.presentation(details);
    sendPage(ctx, status, presentation, loginPage({ presentation, action: target.action, csrf: target.csrf, email, problem, maxLength: MAX_EMAIL_LENGTH }));
  }

  checkEmail(
    ctx: Context,
    page: LoginPage,
    details: Details,
    email: string,
    /** How long the link lives (seconds), as its mail says. */
    ttl: number,
    options: { status?: number; problem?: CodeProblem; resent?: boolean } = {},
  ): void {
    const presentation = page.presentation(details);
    const body = checkEmailPage({
      presentation,
      email,
      duration: durationIn(presentation.language, ttl),
      resent: options.resent,
      restart: page.path,
      code: this.#form(ctx, page, 'code'),
      resend: this.#form(ctx, page, 'resend'),
      problem: options.problem,
    });
    sendPage(ctx, options.status ?? 200, presentation, body);
  }

  confirmLink(ctx: Context, page: LoginPage, presentation: Presentation, code: string): void {
    const target = this.#form(ctx, page, 'link');
    sendPage(ctx, 200, presentation, confirmLinkPage({ presentation, action: target.action, csrf: target.csrf, code }));
  }

  /** A problem page; in the browser that owns the attempt it offers a one-click new link. */
  async problem(
    ctx: Context,
    page: LoginPage,
    kind: LinkProblem,
    details: Details | undefined,
    options: { shortCode?: string | undefined; pinned?: unknown } = {},
  ): Promise<void> {
    const canResend = details && kind !== 'attempt_gone' && (await this.#signIn.emailOf(page.live.app.id, details.uid));
    const resend = canResend ? this.#form(ctx, page, 'resend') : undefined;
    const presentation = page.presentation(details, options.pinned);
    sendPage(ctx, PROBLEM_STATUS[kind], presentation, linkProblemPage({ presentation, kind, resend, shortCode: options.shortCode }));
  }

  /** A form whose CSRF token no longer verifies. */
  expired(ctx: Context, page: LoginPage, details: Details | undefined, which: 'form' | 'link', pinned?: unknown): void {
    const presentation = page.presentation(details, pinned);
    const { pageExpiredTitle, pageExpired, linkPageExpired } = messagesFor(presentation.language);
    sendPage(ctx, 403, presentation, errorPage({ title: pageExpiredTitle, message: which === 'link' ? linkPageExpired : pageExpired, presentation }));
  }
}
