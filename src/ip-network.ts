// Client addresses as rate limits count them. Whoever holds one IPv6 address holds its
// whole /64 (usually a /56 or /48), so a limit per address would hand one attacker 2^64
// budgets: per-IP limits count per IPv4 address or IPv6 /64, per-network limits per IPv4
// /24 or IPv6 /48. Every spelling of an address (compressed or not, any case, with a zone
// id, IPv4-mapped) gives the same key, and anything that is not an address shares one
// key, so junk in X-Forwarded-For never opens a fresh budget.
import { isIPv4, isIPv6 } from 'node:net';

type Address = { readonly v4: readonly number[] } | { readonly v6: readonly number[] };

/** The key shared by every client whose address cannot be read. */
const UNREADABLE = 'unreadable';
/** Longer than any address with port and zone id: not worth parsing. */
const MAX_TEXT = 100;

/**
 * Whether a URL's hostname, as the WHATWG URL parser spells it (IPv4 in dotted decimal
 * whatever was typed, IPv6 compressed in brackets), is a loopback address: 127.0.0.0/8 or
 * [::1]. Names such as localhost are each caller's own rule.
 */
export function isLoopbackAddress(hostname: string): boolean {
  return hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The key of per-IP limits: the IPv4 address, or the IPv6 /64 the address is in. */
export function ipLimitKey(ip: string): string {
  const address = parse(ip);
  if (!address) return UNREADABLE;
  return 'v4' in address ? address.v4.join('.') : `${hex(address.v6.slice(0, 4))}::/64`;
}

/** The key of per-network limits: the IPv4 /24 or the IPv6 /48 the address is in. */
export function networkLimitKey(ip: string): string {
  const address = parse(ip);
  if (!address) return UNREADABLE;
  return 'v4' in address ? `${address.v4.slice(0, 3).join('.')}.0/24` : `${hex(address.v6.slice(0, 3))}::/48`;
}

const hex = (groups: readonly number[]) => groups.map((g) => g.toString(16)).join(':');

function parse(text: string): Address | undefined {
  if (text.length > MAX_TEXT) return undefined;
  let ip = text.trim();
  // Some proxies write a port: "[2001:db8::1]:443", "192.0.2.1:443".
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(ip);
  if (bracketed) ip = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(ip)) ip = ip.slice(0, ip.indexOf(':'));
  // A zone id names an interface of the receiving host, not a different sender.
  ip = ip.replace(/%.*$/, '');
  if (isIPv4(ip)) return { v4: ip.split('.').map(Number) };
  if (!isIPv6(ip)) return undefined;
  const groups = groupsOf(ip.toLowerCase());
  const v4 = embeddedIPv4(groups);
  return v4 ? { v4 } : { v6: groups };
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a dotted tail folded in). */
function groupsOf(ip: string): number[] {
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  const text = dotted
    ? `${ip.slice(0, dotted.index)}${((+dotted[1]! << 8) | +dotted[2]!).toString(16)}:${((+dotted[3]! << 8) | +dotted[4]!).toString(16)}`
    : ip;
  const [head, tail] = text.split('::') as [string, string | undefined];
  const before = head ? head.split(':') : [];
  const after = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array<string>(8 - before.length - after.length).fill('0');
  return [...before, ...zeros, ...after].map((g) => parseInt(g, 16));
}

const bytesOf = (high: number, low: number) => [high >> 8, high & 255, low >> 8, low & 255];
const allZero = (groups: readonly number[]) => groups.every((g) => g === 0);

/**
 * The IPv4 sender behind an IPv6 form that carries one, so it shares that address's
 * budget: IPv4-mapped (::ffff:0:0/96, how a dual-stack socket shows IPv4 clients),
 * IPv4-compatible (::/96 but :: and ::1), NAT64 (64:ff9b::/96), 6to4 (2002::/16, the
 * site's IPv4 address) and Teredo (2001::/32, the client's IPv4 address inverted).
 * Without this, one IPv4 address behind 6to4 would own 65536 /64s, and every IPv4
 * client of a NAT64 gateway would share one /64.
 */
function embeddedIPv4(g: readonly number[]): number[] | undefined {
  const [a, b, c, d, e, f, h, i] = g as [number, number, number, number, number, number, number, number];
  if (allZero([a, b, c, d, e]) && f === 0xffff) return bytesOf(h, i);
  if (allZero([a, b, c, d, e, f]) && (h !== 0 || i > 1)) return bytesOf(h, i);
  if (a === 0x64 && b === 0xff9b && allZero([c, d, e, f])) return bytesOf(h, i);
  if (a === 0x2002) return bytesOf(b, c);
  if (a === 0x2001 && b === 0) return bytesOf(h ^ 0xffff, i ^ 0xffff);
  return undefined;
}

/**
 * Whether a URL's host can only be reached from the machine it names: development mode is
 * allowed only there (config/load.ts), because it serves generated secrets, in-memory data
 * and the development mailbox; and plain-text SMTP only there (src/mail/smtp-mailer.ts),
 * because no one on a network path can read it.
 *
 * The hosts accepted are the ones the W3C Secure Contexts rules treat as loopback:
 * 127.0.0.0/8, ::1, and the localhost names of RFC 6761 (`localhost`, `*.localhost`, each
 * also with the trailing dot of the absolute form). Nothing else, not even addresses that
 * happen to route to loopback such as `[::ffff:127.0.0.1]`: a short, fixed list leaves no
 * address-family subtleties to get wrong. For http(s) URLs the WHATWG parser has already
 * normalised the host (lower case, `127.1` and `0x7f.0.0.1` read `127.0.0.1`); other schemes
 * (smtp:) keep it as written, so an unusual spelling there counts as not loopback.
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
