// How Postern reads a request path, in two ways on purpose:
//
// - Routing is exact. Every router matches Koa's `ctx.path` (not percent-decoded) as
//   written, case-sensitively and without an optional trailing slash (`exactRouter`), and
//   a path that is not in canonical form never reaches a router at all
//   (`refuseNonCanonicalPaths`). So each resource has exactly one spelling.
// - Classifying for security is generous. "Is this the admin API?" folds every spelling
//   a client, proxy or framework might treat as the same resource into one (letters in
//   any case, percent-encoding, double encoding, backslashes, empty and dot segments,
//   `;` parameters, stray whitespace) and errs towards "yes". A decision that guards a
//   door must never depend on how some router happens to match paths.
import Router from '@koa/router';
import type { Middleware } from 'koa';
import { notFound, PosternError } from '../errors.ts';

/** Percent-decoding rounds when folding (`%2561` is `%61` is `a`). */
const DECODE_ROUNDS = 4;
const ASCII_ESCAPE = /%([0-7][0-9a-f])/gi;

/** Decodes percent-escapes of ASCII characters only: enough to find every ASCII spelling of a segment, and it cannot fail. */
function decodeAscii(path: string): string {
  return path.replace(ASCII_ESCAPE, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

/**
 * The path's segments as a lenient server would resolve them: decoded (repeatedly),
 * backslashes as slashes, without empty and `.` segments, `..` applied, `;` parameters,
 * whitespace and control characters dropped, lower case.
 */
export function foldedSegments(path: string): string[] {
  // Most paths hold nothing to fold: lower-case letters, digits and plain punctuation.
  // They fold to their own non-empty segments, with `.` and `..` applied as below.
  if (PLAIN_PATH.test(path)) return resolveDots(path.split('/'));
  let decoded = path;
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    const next = decodeAscii(decoded);
    if (next === decoded) break;
    decoded = next;
  }
  return resolveDots(decoded.replaceAll('\\', '/').split('/').map((raw) => raw.split(';', 1)[0]!.replace(/[\x00-\x20\x7f]/g, '').toLowerCase()));
}

/** Nothing a fold would change: no escape, backslash, `;`, whitespace, control character or capital letter. */
const PLAIN_PATH = /^[a-z0-9/._~!$&'()*+,=:@-]*$/;

/** Without empty and `.` segments, `..` applied. */
function resolveDots(parts: readonly string[]): string[] {
  const segments: string[] = [];
  for (const segment of parts) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return segments;
}

/**
 * Where a request keeps the fold of its path: a symbol, which nothing a client sends can
 * name (and cheaper per request than a WeakMap entry).
 */
const FOLD = Symbol('folded path');

interface Folded {
  readonly path: string;
  [FOLD]?: { readonly path: string; readonly segments: readonly string[] };
}

/** The fold of the path a request has now, worked out once however many checks ask (the path may be rewritten on the way: then again). */
export function foldedPathOf(ctx: { readonly path: string }): readonly string[] {
  const request = ctx as Folded;
  const path = request.path;
  const known = request[FOLD];
  if (known?.path === path) return known.segments;
  const segments = foldedSegments(path);
  request[FOLD] = { path, segments };
  return segments;
}

export const ADMIN_PREFIX = '/admin';

/** True for every spelling of `/admin` and anything below it. */
export function isAdminPath(path: string): boolean {
  return foldedSegments(path)[0] === ADMIN_PREFIX.slice(1);
}

/** isAdminPath of the request's path, folded once per request (foldedPathOf). */
export function isAdminRequest(ctx: { readonly path: string }): boolean {
  return foldedPathOf(ctx)[0] === ADMIN_PREFIX.slice(1);
}

/** Escapes that spell a character with its own meaning in a path, or one that needs no escaping (RFC 3986 §2.3, §6.2.2.2). */
const NEEDLESS_ESCAPE = /%(2[5def]|3[0-9]|4[1-9a-f]|5[0-9acf]|6[1-9a-f]|7[0-9ae])/i;

/**
 * Canonical: starts with `/`, no empty segment (`//`), no `.` or `..` segment, no
 * backslash, no escaped slash, backslash, percent sign or unreserved character, and every
 * `%` starts a valid escape. Postern and its engine never link to anything else.
 */
export function isCanonicalPath(path: string): boolean {
  if (!path.startsWith('/') || path.includes('\\')) return false;
  if (/%(?![0-9a-f]{2})/i.test(path) || NEEDLESS_ESCAPE.test(path)) return false;
  const segments = path.split('/').slice(1);
  // An empty segment is allowed only last: `/` itself, or a trailing slash (which no route matches).
  return segments.every((s, i) => (s !== '' || i === segments.length - 1) && s !== '.' && s !== '..');
}

/** 404 for any path that is not canonical, before any router or the engine sees it. */
export function refuseNonCanonicalPaths(): Middleware {
  // Not async: a request that passes costs a call, not another promise in the chain.
  return (ctx, next) => {
    if (!isCanonicalPath(ctx.path)) throw notFound('No such path. Paths are matched exactly, without encoded letters, digits or slashes and without empty or dot segments.');
    return next();
  };
}

/**
 * The only way Postern creates a router: matching is case-sensitive and strict (a
 * trailing slash is a different path), so a route matches the one spelling it names and
 * nothing a security check elsewhere might read differently.
 */
export function exactRouter(options: { prefix?: string } = {}): Router {
  return new Router({ ...options, sensitive: true, strict: true });
}

/** 414 for a request target longer than `max` characters, before anything parses it. */
export function refuseLongUrls(max: number): Middleware {
  return (ctx, next) => {
    if (ctx.url.length > max) throw new PosternError('url_too_long', 'The request URL is too long.');
    return next();
  };
}
