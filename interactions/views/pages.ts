// The hosted sign-in pages. Markup comes only from html`…` literals, which escape every
// user- or client-supplied value they interpolate; words come from the person's catalogue
// (src/text/locales/).
import { html, raw, type SafeHtml } from '../../src/text/html.ts';
import type { Language, Messages } from '../../src/text/language.ts';
import { nextStep, NO_APP, page, text, type Presentation } from './layout.ts';

const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

export type EmailProblem = 'missing' | 'several' | 'too_long' | 'malformed' | 'form_expired';

function emailProblemText(t: Messages, problem: EmailProblem, maxLength: number): string {
  switch (problem) {
    case 'missing':
      return t.emailMissing;
    case 'several':
      return t.emailSeveral;
    case 'too_long':
      return t.emailTooLong(maxLength);
    case 'malformed':
      return t.emailMalformed;
    case 'form_expired':
      return t.formExpired;
  }
}

export function loginPage(input: {
  presentation: Presentation;
  action: string;
  csrf: string;
  email?: string | undefined;
  problem?: EmailProblem | undefined;
  maxLength: number;
}) {
  const t = text(input.presentation);
  const error = input.problem && html`<p class="error" id="email-error" role="alert">${emailProblemText(t, input.problem, input.maxLength)}</p>`;
  return page({
    title: t.signInTitle,
    presentation: input.presentation,
    body: html`<p>${t.signInIntro}</p>
<form method="post" action="${input.action}" novalidate>
${hidden('csrf', input.csrf)}
<label for="email">${t.emailLabel}</label>
<input id="email" name="email" type="email" autocomplete="email" inputmode="email" required autofocus dir="ltr"
 value="${input.email ?? ''}"${input.problem && html` aria-invalid="true" aria-describedby="email-error"`}>
${error}
<button type="submit">${t.emailButton}</button>
</form>`,
  });
}

export interface FormTarget {
  readonly action: string;
  readonly csrf: string;
}

/** One-click "send me a new link" for the same login attempt (POST: it sends mail). */
function resendForm(t: Messages, resend: FormTarget, button: 'primary' | 'secondary'): SafeHtml {
  return html`<form method="post" action="${resend.action}">
${hidden('csrf', resend.csrf)}
<button type="submit"${button === 'secondary' && html` class="secondary"`}>${t.resendButton}</button>
</form>`;
}

export type CodeProblem = { kind: 'wrong'; attemptsLeft: number } | { kind: 'rate_limited' } | { kind: 'malformed' };

export function checkEmailPage(input: {
  presentation: Presentation;
  email: string;
  /** The link's validity, spelled out in the page's language. */
  duration: string;
  /** Set after "send me a new link": says so, instead of the first sentence. */
  resent?: boolean | undefined;
  restart: string;
  code: FormTarget;
  resend: FormTarget;
  problem?: CodeProblem | undefined;
}) {
  const t = text(input.presentation);
  const problem =
    input.problem &&
    (input.problem.kind === 'wrong' ? t.codeWrong(input.problem.attemptsLeft) : input.problem.kind === 'malformed' ? t.codeMalformed : t.codeRateLimited);
  const error = problem && html`<p class="error" id="code-error" role="alert">${problem}</p>`;
  const sent = input.resent
    ? html`<p class="sent" role="status">${t.newLinkSent(input.email)} ${t.validity(input.duration)}</p>`
    : html`<p role="status">${t.linkOnItsWay(input.email)} ${t.validity(input.duration)}</p>`;
  return page({
    title: t.checkEmailTitle,
    presentation: input.presentation,
    body: html`${sent}
<p>${t.openHere}</p>
<form method="post" action="${input.code.action}" novalidate>
${hidden('csrf', input.code.csrf)}
<label for="code">${t.codeLabel}</label>
<input id="code" name="code" type="text" inputmode="text" autocomplete="one-time-code" autocapitalize="characters" dir="ltr"
 spellcheck="false" maxlength="20" placeholder="ABCD-EFGH"${error && html` aria-invalid="true" aria-describedby="code-error"`}>
${error}
<button type="submit">${t.codeButton}</button>
</form>
<p class="hint">${t.nothingArrived(input.restart)}</p>
${resendForm(t, input.resend, 'secondary')}`,
  });
}

export function confirmLinkPage(input: { presentation: Presentation; action: string; csrf: string; code: string }) {
  const t = text(input.presentation);
  const name = input.presentation.brand.name;
  return page({
    title: t.signInTo(name),
    presentation: input.presentation,
    body: html`<p>${t.confirmIntro}</p>
<form method="post" action="${input.action}">
${hidden('csrf', input.csrf)}
${hidden('code', input.code)}
${hidden('lang', input.presentation.language)}
<button type="submit">${t.signInTo(name)}</button>
</form>
<p class="hint">${t.confirmWhy}</p>`,
  });
}

export type LinkProblem = 'expired' | 'used' | 'unknown' | 'superseded' | 'locked' | 'other_browser' | 'attempt_gone';

function problemText(t: Messages, kind: LinkProblem): { title: string; text: string } {
  const texts: Record<LinkProblem, [string, string]> = {
    expired: [t.expiredTitle, t.expiredText],
    used: [t.usedTitle, t.usedText],
    unknown: [t.unknownTitle, t.unknownText],
    superseded: [t.supersededTitle, t.supersededText],
    locked: [t.lockedTitle, t.lockedText],
    other_browser: [t.otherBrowserTitle, t.otherBrowserText],
    attempt_gone: [t.attemptGoneTitle, t.attemptGoneText],
  };
  const [title, body] = texts[kind];
  return { title, text: body };
}

/**
 * A link or code that cannot sign in. The way on: in the browser that owns the attempt, a
 * new link in one click; elsewhere a new sign-in at the app. A link opened in another
 * browser shows its code for the browser where the person started instead.
 */
export function linkProblemPage(input: {
  presentation: Presentation;
  kind: LinkProblem;
  resend?: FormTarget | undefined;
  shortCode?: string | undefined;
}) {
  const t = text(input.presentation);
  const problem = problemText(t, input.kind);
  const howTo =
    input.shortCode &&
    html`<p>${t.otherBrowserHowTo}</p>
<p class="code" aria-label="${t.codeAria(input.shortCode.split('').join(' '))}">${input.shortCode}</p>`;
  const action = input.kind === 'other_browser' ? undefined : input.resend ? resendForm(t, input.resend, 'primary') : nextStep(input.presentation);
  return page({ title: problem.title, presentation: input.presentation, body: html`<p>${problem.text}</p>\n${howTo}${action}` });
}

export interface ErrorPageInput {
  readonly title: string;
  readonly message: string;
  readonly reference?: string | undefined;
  /** The app and language, where known; also offers the way back to the app. */
  readonly presentation?: Presentation | undefined;
  /** Outside any app (Postern's own error pages): the person's language. */
  readonly language?: Language | undefined;
  /** For the app's developer, folded away (the engine's never in production: provider-config.ts). */
  readonly developerDetails?: string | undefined;
}

export function errorPage(input: ErrorPageInput) {
  const shown = input.presentation ?? (input.language ? { ...NO_APP, language: input.language } : NO_APP);
  const t = text(shown);
  const ref = input.reference && html`<p class="hint">${t.reference(input.reference)}</p>`;
  const details =
    input.developerDetails && html`<details class="hint"><summary>${t.forDeveloper}</summary><p class="ref" dir="ltr">${input.developerDetails}</p></details>`;
  const next = input.presentation && nextStep(input.presentation);
  return page({ title: input.title, presentation: shown, body: html`<p>${input.message}</p>${ref}${details}${next}` });
}

/**
 * `form` is oidc-provider's ready-made logout form (its own action and xsrf token, escaped
 * by it): only "Yes" submits it. "No" is a plain link to `decline`, which changes nothing
 * (the engine's form without `logout` would still end the app's grant).
 */
export function logoutPage(input: { presentation: Presentation; form: string; decline: string }) {
  const t = text(input.presentation);
  return page({
    title: t.signOutTitle,
    presentation: input.presentation,
    body: html`<p>${t.signOutQuestion(input.presentation.brand.name)}</p>
${raw(input.form)}
<button type="submit" form="op.logoutForm" name="logout" value="yes">${t.signOutYes}</button>
<a class="button secondary" href="${input.decline}">${t.signOutNo}</a>`,
  });
}

export function stillSignedInPage(input: { presentation: Presentation; signedIn: boolean }) {
  const t = text(input.presentation);
  const name = input.presentation.brand.name;
  return page({
    title: input.signedIn ? t.stillSignedInTitle : t.nothingChangedTitle,
    presentation: input.presentation,
    body: html`<p>${input.signedIn ? t.stillSignedInText(name) : t.nothingChangedText}</p>`,
  });
}

export function signedOutPage(input: { presentation: Presentation }) {
  const t = text(input.presentation);
  return page({
    title: t.signedOutTitle,
    presentation: input.presentation,
    body: html`<p>${t.signedOutText(input.presentation.brand.name)}</p>`,
  });
}

/**
 * The engine's self-submitting form (form_post responses, a sign-out that needs no
 * question) in our look: its own script still submits it at once where scripts run (the
 * engine allowed exactly that script in the CSP); without JavaScript the person sees a
 * sentence and presses the button.
 */
export function formPostPage(input: {
  presentation: Presentation;
  action: string;
  fields: readonly (readonly [string, string])[];
  script: SafeHtml | undefined;
}) {
  const t = text(input.presentation);
  return page({
    title: t.continueTitle,
    presentation: input.presentation,
    head: input.script,
    body: html`<form method="post" action="${input.action}">
${input.fields.map(([name, value]) => hidden(name, value))}
<p>${t.continueText}</p>
<button type="submit">${t.continueButton}</button>
</form>`,
  });
}
