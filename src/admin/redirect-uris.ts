// The one rule for the URIs an app may register as redirect_uris and
// post_logout_redirect_uris (and, on the web only, for the endpoints Postern calls or
// names: backchannel_logout_uri, initiate_login_uri): an allowlist (RFC 8252 §7.1 and
// §7.3, OAuth 2.0 Security BCP), because a code or a signed-out browser sent to a URI is handed to whatever the
// operating system registered for its scheme (ms-msdt:, search-ms:, intent:, …), and a
// denylist can never name them all. Allowed:
//   https://host/…                       any host
//   http://loopback/…                    127.0.0.0/8, [::1] or localhost only
//   com.example.app:/…                   a private-use scheme in reverse-domain form
//
// `localhost` is accepted although RFC 8252 §8.3 prefers loopback IP literals: browsers
// resolve it to the loopback interface without asking DNS, and it is what web apps in
// development register; the RFC's concern is native apps whose firewall or resolver
// treats the name differently. Only `localhost` itself: `app.localhost` is refused.
//
// This is the only rule for a single URI. The engine's client schema adds rules for
// combinations, checked on the whole app before it is stored (engine.ts, A10, with the
// same error): an app with a private-use scheme is native (oidc/client-metadata.ts), and
// a native app's http loopback hosts are 127.0.0.1, [::1] or localhost, never https ones.
//
// The engine compares a requested URI with the registered strings exactly, so the rule
// judges the string as written (no normalisation is stored). Records written before this
// rule keep their URIs; the admin API shows why each would be refused today (app-view.ts).
import { isLoopbackAddress } from '../ip-network.ts';

/** Why `value` may not be registered today, as the end of a sentence naming its field; undefined when it may. */
export function redirectUriProblem(value: unknown): string | undefined {
  const parsed = parseUri(value);
  if (typeof parsed === 'string') return parsed;
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') return webUriProblem(value as string, parsed, true);
  if (isReverseDomain(scheme)) return undefined;
  return (
    `must not use the ${scheme}: scheme; allowed are https, http on a loopback host, and a private-use scheme ` +
    'named by a reverse domain name the app controls, such as com.example.app:/callback'
  );
}

/**
 * Why `value` may not be registered today as an endpoint of the app that Postern itself
 * calls or sends a third party to (backchannel_logout_uri, initiate_login_uri): the same
 * rule as for redirect URIs, on the web only. `httpLoopback` allows http on a loopback
 * host (outside production, where the app runs beside Postern on a developer's machine).
 */
export function endpointUriProblem(value: unknown, httpLoopback: boolean): string | undefined {
  const parsed = parseUri(value);
  if (typeof parsed === 'string') return parsed;
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') return webUriProblem(value as string, parsed, httpLoopback);
  return httpLoopback ? 'must use https (or http on a loopback host)' : 'must use https';
}

/** The checks every registered URI must pass, whatever its scheme: the parsed URL, or the problem. */
function parseUri(value: unknown): URL | string {
  if (typeof value !== 'string' || value.length === 0) return 'must be a non-empty string';
  if (value.length > 2000) return 'must be at most 2000 characters';
  // The URL parser silently drops tabs and line breaks; the engine matches the raw string.
  if (/[\s\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(value) || !value.isWellFormed()) {
    return 'must not contain spaces, control or bidi characters';
  }
  // Parsers disagree on a backslash (WHATWG reads it as a slash, others as a character).
  if (value.includes('\\')) return 'must not contain backslashes';
  if (value.includes('*')) return 'must not contain wildcards (*): register each URI exactly as the app sends it';
  if (value.includes('#')) return 'must not contain a fragment';
  const url = URL.parse(value);
  if (!url || !/^[a-z][a-z0-9+.-]*:$/.test(url.protocol)) return 'must be an absolute URI';
  if (url.username || url.password) return 'must not contain credentials';
  return url;
}

/** An https URI with a host, or http on a loopback host where `httpLoopback` allows it. */
function webUriProblem(value: string, url: URL, httpLoopback: boolean): string | undefined {
  const scheme = url.protocol.slice(0, -1);
  // `https:host` and `https:/host` parse as https://host/, but are not what was meant.
  if (!/^https?:\/\/[^/]/i.test(value)) return `must start with ${scheme}:// and a host`;
  if (scheme === 'https' || (httpLoopback && isLoopback(url.hostname))) return undefined;
  return httpLoopback
    ? 'must use https; http is allowed only for loopback hosts (127.0.0.0/8, [::1] and localhost)'
    : 'must use https';
}

/** The URL parser has already folded every spelling of an IPv4 address to dotted decimal and lower-cased names. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || isLoopbackAddress(hostname);
}

/** RFC 8252 §7.1: at least two dot-separated labels, as in com.example.app. */
function isReverseDomain(scheme: string): boolean {
  return /^[a-z][a-z0-9-]*(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(scheme);
}

/** A registered URI that today's rule would refuse, with the reason. */
export interface UriWarning {
  readonly field: string;
  readonly uri: string;
  readonly problem: string;
}

/** Every URI of these lists that today's rule would refuse, each named by its field and index. */
export function uriWarnings(lists: Readonly<Record<string, readonly string[]>>): UriWarning[] {
  return Object.entries(lists).flatMap(([field, uris]) =>
    uris.flatMap((uri, i) => {
      const problem = redirectUriProblem(uri);
      return problem ? [{ field: `${field}[${i}]`, uri, problem }] : [];
    }),
  );
}
