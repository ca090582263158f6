// The hosted sign-in pages. Markup comes only from html`…` literals, which escape every
// user- or client-supplied value they interpolate.
import { html, raw, type SafeHtml } from '../../src/text/html.ts';
import { page } from './layout.ts';

const hidden = (name: string, value: string) => html`<input type="hidden" name="${name}" value="${value}">`;

export function loginPage(input: { appName: string; action: string; csrf: string; email?: string; error?: string }) {
  const error = input.error && html`<p class="error" id="email-error" role="alert">${input.error}</p>`;
  return page({
    title: 'Sign in',
    appName: input.appName,
    body: html`<p>Enter your email address and we will send you a link to sign in. No password needed.</p>
<form method="post" action="${input.action}" novalidate>
${hidden('csrf', input.csrf)}
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" inputmode="email" required autofocus
 value="${input.email ?? ''}"${input.error && html` aria-invalid="true" aria-describedby="email-error"`}>
${error}
<button type="submit">Email me a sign-in link</button>
</form>`,
  });
}

export interface FormTarget {
  readonly action: string;
  readonly csrf: string;
}

/** One-click "send me a new link" for the same login attempt (POST: it sends mail). */
function resendForm(resend: FormTarget, button: 'primary' | 'secondary'): SafeHtml {
  return html`<form method="post" action="${resend.action}">
${hidden('csrf', resend.csrf)}
<button type="submit"${button === 'secondary' && html` class="secondary"`}>Send me a new link</button>
</form>`;
}

export function checkEmailPage(input: {
  appName: string;
  email: string;
  minutes: number;
  restart: string;
  code: FormTarget;
  resend: FormTarget;
  error?: string | undefined;
}) {
  const error = input.error && html`<p class="error" id="code-error" role="alert">${input.error}</p>`;
  return page({
    title: 'Check your email',
    appName: input.appName,
    body: html`<p role="status">If <strong>${input.email}</strong> can receive mail, a sign-in link is on its way.
It works once, for ${input.minutes} minutes.</p>
<p>Open the link <strong>in this browser</strong> to finish signing in.</p>
<form method="post" action="${input.code.action}" novalidate>
${hidden('csrf', input.code.csrf)}
<label for="code">Reading your mail on another device? Type the code from the email here:</label>
<input id="code" name="code" type="text" inputmode="text" autocomplete="one-time-code" autocapitalize="characters"
 spellcheck="false" maxlength="20" placeholder="ABCD-EFGH"${input.error && html` aria-invalid="true" aria-describedby="code-error"`}>
${error}
<button type="submit">Sign in with the code</button>
</form>
<p class="hint">Nothing arrived after a few minutes? Check your spam folder, send a new link, or
<a href="${input.restart}">use a different address</a>.</p>
${resendForm(input.resend, 'secondary')}`,
  });
}

export function confirmLinkPage(input: { appName: string; action: string; csrf: string; code: string }) {
  return page({
    title: `Sign in to ${input.appName}`,
    body: html`<p>Press the button to finish signing in.</p>
<form method="post" action="${input.action}">
${hidden('csrf', input.csrf)}
${hidden('code', input.code)}
<button type="submit">Sign in to ${input.appName}</button>
</form>
<p class="hint">This extra step keeps email security scanners, which open links on their own, from using up your link.</p>`,
  });
}

export type LinkProblem = 'expired' | 'used' | 'unknown' | 'superseded' | 'locked' | 'other_browser' | 'attempt_gone';

const PROBLEMS: Record<LinkProblem, { title: string; text: string }> = {
  expired: {
    title: 'This link has expired',
    text: 'Sign-in links work for a limited time. Ask for a new one; it takes a few seconds.',
  },
  used: {
    title: 'This link was already used',
    text: 'Each sign-in link works only once. If that was not you, nobody else got in with it: ask for a new link to continue.',
  },
  unknown: {
    title: 'This link is not valid',
    text: 'The link may be incomplete (some mail programs break long links) or from an older email. Ask for a new one.',
  },
  superseded: {
    title: 'A newer link was sent',
    text: 'You asked for another sign-in link after this one, so this one no longer works. Use the link in the most recent email, or ask for a new one.',
  },
  locked: {
    title: 'Too many wrong codes',
    text: 'The code from this email was typed wrongly too often, so it no longer works. Ask for a new link.',
  },
  other_browser: {
    title: 'Open this link in the browser where you started',
    text: 'For your safety a sign-in link only works in the browser that asked for it. Nothing was signed in here.',
  },
  attempt_gone: {
    title: 'This sign-in attempt has ended',
    text: 'The sign-in page you started from has timed out or was already completed. Go back to the app and sign in again.',
  },
};

export function linkProblemPage(input: {
  kind: LinkProblem;
  appName: string;
  resend?: FormTarget | undefined;
  shortCode?: string | undefined;
}) {
  const problem = PROBLEMS[input.kind];
  const howTo =
    input.shortCode &&
    html`<p>Either open the link from the email on the device where you started, or type this code there:</p>
<p class="code" aria-label="Sign-in code ${input.shortCode.split('').join(' ')}">${input.shortCode}</p>`;
  const action = input.resend
    ? resendForm(input.resend, 'primary')
    : html`<p class="hint">Return to ${input.appName} and choose "Sign in" again.</p>`;
  return page({ title: problem.title, appName: input.appName, body: html`<p>${problem.text}</p>\n${howTo}${input.kind !== 'other_browser' && action}` });
}

export function errorPage(input: { title: string; message: string; reference?: string | undefined }) {
  const ref =
    input.reference && html`<p class="hint">If this keeps happening, quote reference <span class="ref">${input.reference}</span>.</p>`;
  return page({ title: input.title, body: html`<p>${input.message}</p>${ref}` });
}

/**
 * `form` is oidc-provider's ready-made logout form (its own action and xsrf token, escaped
 * by it): only "Yes" submits it. "No" is a plain link to `decline`, which changes nothing
 * (the engine's form without `logout` would still end the app's grant).
 */
export function logoutPage(input: { appName: string | undefined; form: string; decline: string }) {
  return page({
    title: 'Sign out',
    appName: input.appName,
    body: html`<p>Do you want to sign out${input.appName && ` of ${input.appName}`}?</p>
${raw(input.form)}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Yes, sign me out</button>
<a class="button secondary" href="${input.decline}">No, stay signed in</a>`,
  });
}

export function stillSignedInPage(input: { appName: string; signedIn: boolean }) {
  return page({
    title: input.signedIn ? 'You are still signed in' : 'Nothing was changed',
    appName: input.appName,
    body: input.signedIn
      ? html`<p>You chose not to sign out of ${input.appName}, so nothing was changed. You can close this window and go back to ${input.appName}.</p>`
      : html`<p>There is no sign-out waiting for an answer in this browser. You can close this window.</p>`,
  });
}

export function signedOutPage(input: { appName: string | undefined }) {
  return page({
    title: 'You are signed out',
    appName: input.appName,
    body: html`<p>You have signed out${input.appName && ` of ${input.appName}`}. You can close this window.</p>`,
  });
}
