// The admin API over HTTP: where it is and the token (POSTERN_URL, POSTERN_ADMIN_TOKEN),
// paths with every argument encoded as one segment, a deadline on every request, and the
// answer as JSON or a RequestFailed that says what went wrong in words. The token is sent
// in the Authorization header and nowhere else: no message of this file contains it.
import { RequestFailed, UsageError } from './cli-errors.ts';
import { cleanLine } from './terminal-text.ts';

export interface Target {
  /** The server's base URL (a path prefix, if any, is kept). */
  readonly base: URL;
  readonly token: string;
  readonly timeoutMs: number;
}

export interface Answer {
  readonly status: number;
  /** The parsed JSON body; undefined for an answer without a body (204). */
  readonly body: unknown;
}

const DEFAULT_TIMEOUT_SECONDS = 30;
/** Far above any admin answer (a page of 500 audit events, thousands of apps); a server that sends more is not the admin API. */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;
const LOOPBACK_HOSTS = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/** Where the admin API is and how to authenticate, from the environment; UsageError if unusable. */
export function targetFrom(env: NodeJS.ProcessEnv): Target {
  const raw = env.POSTERN_URL;
  if (!raw) throw new UsageError('POSTERN_URL is not set: the Postern server\'s URL, e.g. https://id.example.com.');
  let base: URL;
  try {
    base = new URL(raw);
  } catch {
    throw new UsageError('POSTERN_URL is not a URL, e.g. https://id.example.com.');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new UsageError('POSTERN_URL must be an http(s) URL.');
  // fetch refuses them anyway; said here so the message does not quote the URL back.
  if (base.username || base.password) throw new UsageError('POSTERN_URL must not contain credentials; the admin token goes in POSTERN_ADMIN_TOKEN.');
  if (base.search || base.hash) throw new UsageError('POSTERN_URL must not have a query or fragment.');
  // The token would cross the network in clear text: allowed on this machine only, unless
  // the operator says the network in between is theirs (a container network, a VPN).
  if (base.protocol === 'http:' && !LOOPBACK_HOSTS.test(base.hostname) && env.POSTERN_ALLOW_HTTP !== 'true') {
    throw new UsageError('POSTERN_URL is plain http to another host: the admin token would travel unencrypted. Use https, or set POSTERN_ALLOW_HTTP=true if the network in between is yours.');
  }

  const token = env.POSTERN_ADMIN_TOKEN;
  if (!token) throw new UsageError('POSTERN_ADMIN_TOKEN is not set: the server\'s ADMIN_TOKEN.');
  // Checked here because fetch's own refusal of a bad header value quotes the value.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new UsageError('POSTERN_ADMIN_TOKEN contains spaces, line breaks or other characters a token cannot have (is there a stray newline?).');

  const rawTimeout = env.POSTERN_TIMEOUT_SECONDS;
  const seconds = rawTimeout === undefined || rawTimeout === '' ? DEFAULT_TIMEOUT_SECONDS : Number(rawTimeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) throw new UsageError('POSTERN_TIMEOUT_SECONDS must be a number of seconds from 0 to 3600.');
  return { base, token, timeoutMs: Math.round(seconds * 1000) };
}

/**
 * A path from a template such as /admin/apps/{app}/clients/{client}: every value is
 * percent-encoded as one segment, so an id like `../openapi.json` or `x/../y` names
 * nothing but itself (the server answers 404). `.` and `..` cannot be escaped past the URL
 * parser, which resolves even `%2e%2e`, so they are refused here.
 */
export function pathFor(template: string, values: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for {${name}}`);
    if (value === '' || value === '.' || value === '..') throw new UsageError(`"${value}" is not a valid ${name} id.`);
    return encodeURIComponent(value);
  });
}

export async function request(
  target: Target,
  method: string,
  path: string,
  options: { query?: Readonly<Record<string, string>>; body?: unknown } = {},
): Promise<Answer> {
  const url = new URL(target.base.href);
  url.pathname = `${target.base.pathname.replace(/\/+$/, '')}${path}`;
  for (const [name, value] of Object.entries(options.query ?? {})) url.searchParams.set(name, value);
  const where = target.base.origin;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: 'application/json',
        'user-agent': 'postern-cli',
        ...(options.body !== undefined && { 'content-type': 'application/json' }),
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      // A redirect is never the admin API's answer; following one would send the token
      // on to wherever it points.
      redirect: 'manual',
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    text = await boundedText(res, where);
  } catch (error) {
    if (error instanceof RequestFailed) throw error;
    throw unreachable(error, where, target.timeoutMs);
  }
  if (res.status >= 300 && res.status < 400) {
    throw new RequestFailed(`${where} answered with a redirect (HTTP ${res.status}) instead of the admin API; set POSTERN_URL to the address the server itself is reached at (https?).`);
  }
  const body = parseBody(res, text, where);
  if (res.status >= 400) throw refusal(res, body);
  return { status: res.status, body };
}

/** The body as text, refused past MAX_ANSWER_BYTES: a hostile or broken server cannot fill the operator's memory. */
async function boundedText(res: Response, where: string): Promise<string> {
  const tooLarge = () => new RequestFailed(`${where} sent an answer larger than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB; that is not the admin API.`);
  if (Number(res.headers.get('content-length')) > MAX_ANSWER_BYTES) {
    await res.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body ?? []) {
    size += chunk.byteLength;
    if (size > MAX_ANSWER_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function unreachable(error: unknown, where: string, timeoutMs: number): RequestFailed {
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') {
    return new RequestFailed(`${where} did not answer within ${timeoutMs / 1000} s (POSTERN_TIMEOUT_SECONDS).`);
  }
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const reason = cause?.code ?? cause?.message ?? (error as Error).message;
  return new RequestFailed(`Cannot reach ${where}: ${cleanLine(String(reason), 200)}. Is POSTERN_URL right and the server running?`);
}

function parseBody(res: Response, text: string, where: string): unknown {
  if (text === '') {
    if (res.status === 204) return undefined;
    throw new RequestFailed(`${where} answered HTTP ${res.status} with an empty body, not the admin API's JSON.`);
  }
  const type = res.headers.get('content-type') ?? '';
  if (/^application\/json\b/i.test(type)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // Below: said the same way as any other page that is not the API's.
    }
  }
  const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1];
  const shown = title === undefined ? '' : `: "${cleanLine(title, 120)}"`;
  throw new RequestFailed(
    `${where} answered HTTP ${res.status} with ${cleanLine(type.split(';')[0] || 'no content type', 80)}${shown}, not the admin API's JSON. ` +
      'Is POSTERN_URL the Postern server, and not a proxy or load balancer in front of one that is down?',
  );
}

/** The server's own words (error_description), cleaned, with what to do for the statuses that have an obvious next step. */
function refusal(res: Response, body: unknown): RequestFailed {
  const { error, error_description: description } = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const said = typeof description === 'string' ? cleanLine(description) : `HTTP ${res.status}`;
  const code = typeof error === 'string' ? `${cleanLine(error, 60)}, ` : '';
  const hints: Record<number, string> = {
    401: ' Check POSTERN_ADMIN_TOKEN: it must be the server\'s ADMIN_TOKEN.',
    429: ` Try again in ${cleanLine(res.headers.get('retry-after') ?? 'a few', 10)} seconds.`,
    503: ` Try again in ${cleanLine(res.headers.get('retry-after') ?? 'a few', 10)} seconds.`,
  };
  return new RequestFailed(`${said} (${code}HTTP ${res.status}).${hints[res.status] ?? ''}`);
}
