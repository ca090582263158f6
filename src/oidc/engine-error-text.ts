// What a person reads when the engine refuses a request on a page (renderError): a human
// sentence chosen by the error's code, never the engine's own description ("client is
// invalid", "redirect_uri did not match any of the client's registered redirect_uris"),
// which is written for developers and in English. Developers find it in the audit trail.
import type { Messages } from '../text/language.ts';

/** `name` is the engine's error class (SessionNotFound is an invalid_request with its own meaning). */
export function engineErrorText(t: Messages, error: { code: string | undefined; name: string | undefined; status: number }): { title: string; message: string } {
  if (error.status === 503 || error.code === 'temporarily_unavailable') return { title: t.somethingWrongTitle, message: t.errorUnavailable };
  if (error.status >= 500) return { title: t.somethingWrongTitle, message: t.somethingWrong };
  const message = (() => {
    if (error.name === 'SessionNotFound') return t.errorExpired;
    switch (error.code) {
      case 'invalid_client':
      case 'unauthorized_client':
        return t.errorClient;
      case 'invalid_redirect_uri':
        return t.errorRedirectUri;
      case 'access_denied':
        return t.errorDenied;
      case 'invalid_grant':
      case 'login_required':
      case 'interaction_required':
      case 'consent_required':
        return t.errorExpired;
      default:
        return t.errorRequest;
    }
  })();
  return { title: t.cannotContinueTitle, message };
}
