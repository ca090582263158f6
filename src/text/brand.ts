// What a hosted page or the sign-in mail shows of the app a person signs in to. Resolved
// once per request (src/apps/branding.ts); the views only render it. Every URI here was
// checked when the admin stored it (https, or http on a loopback host outside production).
export interface Brand {
  readonly name: string;
  /** https only; shown at a fixed size, with alt text. */
  readonly logoUri?: string | undefined;
  /** Light-mode accent, #rrggbb, contrast-checked (colour.ts); absent: Postern's. */
  readonly accent?: string | undefined;
  /** The app's home page: "Back to {app}". */
  readonly homeUri?: string | undefined;
  /** Where a new sign-in can be started: the app's initiate_login_uri. */
  readonly restartUri?: string | undefined;
  readonly policyUri?: string | undefined;
  readonly tosUri?: string | undefined;
  readonly supportEmail?: string | undefined;
  readonly supportUri?: string | undefined;
}

/** The CSP source that lets a page load `logoUri` and nothing else from its host (query and fragment play no part). */
export function logoSource(logoUri: string): string {
  const url = new URL(logoUri);
  // A CSP source ends at whitespace, `;` or `,`, and quotes start a keyword: escaped, a
  // path holding them (a client registered through RFC 7591 chose it) stays one source.
  // Browsers compare source paths percent-decoded, so the escaped form still matches.
  const path = url.pathname.replace(/[;,'"\s]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
  return `${url.origin}${path}`;
}
