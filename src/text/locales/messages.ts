// The texts of the hosted pages and of the sign-in mail, one catalogue per language. Every
// catalogue is typed as Messages, so a missing key (or an extra one) is a type error, and
// test/unit/locales.test.ts checks the same at run time. Texts with markup are functions
// that return html`…`, which escapes what they interpolate.
import type { SafeHtml } from '../html.ts';

export interface Messages {
  // Every page
  readonly backTo: (app: string) => string;
  readonly privacy: string;
  readonly terms: string;
  readonly support: string;
  readonly logoAlt: (app: string) => string;
  readonly signInAgain: string;
  readonly goBackHint: (app: string) => string;
  readonly reference: (reference: string) => SafeHtml;
  readonly forDeveloper: string;

  // The email form
  readonly signInTitle: string;
  readonly signInIntro: string;
  readonly emailLabel: string;
  readonly emailButton: string;
  readonly emailMissing: string;
  readonly emailSeveral: string;
  readonly emailTooLong: (max: number) => string;
  readonly emailMalformed: string;
  readonly formExpired: string;

  // "Check your email"
  readonly checkEmailTitle: string;
  readonly linkOnItsWay: (email: string) => SafeHtml;
  readonly newLinkSent: (email: string) => SafeHtml;
  readonly validity: (duration: string) => string;
  readonly openHere: SafeHtml;
  readonly codeLabel: string;
  readonly codeButton: string;
  readonly nothingArrived: (restart: string) => SafeHtml;
  readonly resendButton: string;
  readonly codeWrong: (attemptsLeft: number) => string;
  readonly codeRateLimited: string;
  /** What was typed cannot be a code at all (counted as no attempt). */
  readonly codeMalformed: string;

  // The link's landing page
  readonly signInTo: (app: string) => string;
  readonly confirmIntro: string;
  readonly confirmWhy: string;

  // A link or code that cannot sign in
  readonly expiredTitle: string;
  readonly expiredText: string;
  readonly usedTitle: string;
  readonly usedText: string;
  readonly unknownTitle: string;
  readonly unknownText: string;
  readonly supersededTitle: string;
  readonly supersededText: string;
  readonly lockedTitle: string;
  readonly lockedText: string;
  readonly otherBrowserTitle: string;
  readonly otherBrowserText: string;
  readonly otherBrowserHowTo: string;
  readonly codeAria: (spelledOut: string) => string;
  readonly attemptGoneTitle: string;
  readonly attemptGoneText: string;

  // Errors
  readonly pageExpiredTitle: string;
  readonly pageExpired: string;
  readonly linkPageExpired: string;
  readonly somethingWrongTitle: string;
  readonly somethingWrong: string;
  readonly cannotContinueTitle: string;
  readonly requestFailedTitle: string;
  readonly errorClient: string;
  readonly errorRedirectUri: string;
  readonly errorRequest: string;
  readonly errorExpired: string;
  readonly errorDenied: string;
  readonly errorUnavailable: string;
  /** Postern's own 404 page, outside any sign-in it can name. */
  readonly errorNotFound: string;
  readonly errorRateLimited: string;
  readonly appChangedTitle: string;
  readonly appChangedText: string;

  // Signing out
  readonly signOutTitle: string;
  readonly signOutQuestion: (app: string | undefined) => string;
  readonly signOutYes: string;
  readonly signOutNo: string;
  readonly stillSignedInTitle: string;
  readonly stillSignedInText: (app: string) => string;
  readonly nothingChangedTitle: string;
  readonly nothingChangedText: string;
  readonly signedOutTitle: string;
  readonly signedOutText: (app: string | undefined) => string;

  // The engine's self-submitting form (back to the app, or on to sign out)
  readonly continueTitle: string;
  readonly continueText: string;
  readonly continueButton: string;

  // The sign-in mail
  readonly mailIntro: string;
  readonly mailFallback: string;
  readonly mailCodeIntro: string;
  readonly mailValidity: (duration: string) => string;
  readonly mailIgnore: (app: string) => string;
}
