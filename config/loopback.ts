// Whether an origin can only be reached from the machine it names: development mode is
// allowed only there (see load.ts), because it serves generated secrets, in-memory data and
// the development mailbox, which shows every sign-in link to whoever opens it.
//
// The hosts accepted are the ones the W3C Secure Contexts rules treat as loopback:
// 127.0.0.0/8, ::1, and the localhost names of RFC 6761 (`localhost`, `*.localhost`, each
// also with the trailing dot of the absolute form). Nothing else, not even addresses that
// happen to route to loopback such as `[::ffff:127.0.0.1]`: a developer never needs them,
// and a short, fixed list leaves no address-family subtleties to get wrong.

import { isLoopbackAddress } from '../src/ip-network.ts';

/**
 * True when `origin`'s host is a loopback address or a localhost name. The WHATWG URL parser
 * has already normalised it: lower case, IDNA-mapped, IPv4 in dotted decimal (`127.1` and
 * `0x7f.0.0.1` both read `127.0.0.1`), IPv6 compressed and bracketed.
 */
export function isLoopbackOrigin(origin: string): boolean {
  const host = URL.parse(origin)?.hostname;
  if (host === undefined) return false;
  // A name such as 127.0.0.1.nip.io has a fifth label and is left to the name rule, which refuses it.
  if (isLoopbackAddress(host)) return true;
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  // Empty labels (`.localhost`, `a..localhost`) are not names a resolver answers for.
  return labels.at(-1) === 'localhost' && labels.every((label) => label.length > 0);
}
