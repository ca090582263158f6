// Shared helpers for the security tests: raw HTTP (node:http, which can send any Host,
// absolute request targets, chunked bodies and bytes fetch would refuse), checks for
// stack traces and clean error bodies, and a fetch that records every response.
import { expect } from 'chai';
import { request, type IncomingHttpHeaders } from 'node:http';
import type { Harness } from '../helpers/harness.ts';

export interface RawReply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface RawInit {
  readonly method?: string;
  readonly headers?: Record<string, string | string[] | undefined>;
  /** Sent as is; `chunked: true` sends it without Content-Length. */
  readonly body?: string | Buffer;
  readonly chunked?: boolean;
}

/** One request to `baseUrl` with `target` as the literal request target. */
export function raw(baseUrl: string, target: string, init: RawInit = {}): Promise<RawReply> {
  const base = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) if (value !== undefined) headers[name] = value;
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) headers.host = base.host;
    if (init.body !== undefined && !init.chunked) headers['content-length'] = String(Buffer.byteLength(init.body));
    const req = request(
      { host: base.hostname, port: base.port, method: init.method ?? 'GET', path: target, headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (init.body !== undefined) {
      const bytes = Buffer.from(init.body);
      // Several writes so a chunked body really goes out in chunks.
      for (let i = 0; i < bytes.length; i += 16 * 1024) req.write(bytes.subarray(i, i + 16 * 1024));
    }
    req.end();
  });
}

/** Anything that looks like a stack trace or an internal path. */
export const STACK_TRACE = /\bat [^\n]*:\d+:\d+|node_modules|\/work\/|file:\/\/|\b(?:TypeError|RangeError|SyntaxError|ReferenceError|URIError)\b/;

export function expectNoLeak(body: string, label: string): void {
  expect(body, `${label}: looks like a stack trace`).not.to.match(STACK_TRACE);
}

/** A 4xx with either an OAuth-style JSON error or an HTML page; never a stack trace. */
export function expectClean4xx(reply: { status: number; contentType: string; body: string }, label: string, status?: number | number[]): void {
  const allowed = status === undefined ? undefined : Array.isArray(status) ? status : [status];
  if (allowed) expect(allowed, `${label}: status ${reply.status} ${reply.body.slice(0, 300)}`).to.include(reply.status);
  expect(reply.status, `${label}: ${reply.body.slice(0, 300)}`).to.be.within(400, 499);
  expectNoLeak(reply.body, label);
  if (reply.contentType.startsWith('application/json')) {
    const json = JSON.parse(reply.body) as Record<string, unknown>;
    expect(json.error, `${label}: error`).to.be.a('string').and.not.equal('server_error');
    expect(json.error_description, `${label}: error_description`).to.be.a('string').and.not.equal('');
  } else {
    expect(reply.contentType, `${label}: content type`).to.match(/^text\/html/);
    expect(reply.body, label).to.match(/^<!doctype html>/i);
    expect(reply.body, `${label}: says what is wrong`).to.match(/<h1>[^<]+<\/h1>/);
  }
}

export const contentTypeOf = (reply: RawReply) => String(reply.headers['content-type'] ?? '');

/** Parsed JSON log lines the harness captured. */
export const logLines = (h: Harness) => h.logs.map((l) => JSON.parse(l) as Record<string, any>);

export const audits = (h: Harness) => logLines(h).filter((l) => l.msg === 'audit').map((l) => l.audit as Record<string, unknown>);

/** Log lines that mean a request ended in an unexpected error. */
export const serverErrors = (h: Harness) =>
  logLines(h).filter((l) => l.level === 'error' && /unhandled error|oidc error|oidc server error/.test(String(l.msg)));

export interface Recorded {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: string;
}

/**
 * Replaces global fetch (which the Browser, the harness and openid-client all use) with
 * one that records every response, optionally rewrites URLs (to reach a server whose
 * PUBLIC_URL is not where it listens) and can send each request through node:http with
 * extra headers, Host included. Returns a function that restores the original.
 */
export function interceptFetch(options: {
  record: Recorded[];
  rewrite?: (url: string) => string;
  extraHeaders?: Record<string, string>;
}): () => void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input: string | URL | Request, init: RequestInit = {}) => {
    const method = init.method ?? (input instanceof Request ? input.method : 'GET');
    const asked = input instanceof Request ? input.url : String(input);
    const url = options.rewrite ? options.rewrite(asked) : asked;
    let res: Response;
    if (!options.extraHeaders) {
      res = await original(url, init);
    } else {
      const headers = new Headers(init.headers);
      let body: string | undefined;
      if (init.body instanceof URLSearchParams) {
        body = init.body.toString();
        if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
      } else if (typeof init.body === 'string') {
        body = init.body;
        if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
      } else if (init.body != null) {
        throw new Error('interceptFetch: unsupported body type');
      }
      const all: Record<string, string> = {};
      headers.forEach((v, k) => (all[k] = v));
      Object.assign(all, options.extraHeaders);
      const target = new URL(url);
      const reply = await raw(target.origin, `${target.pathname}${target.search}`, { method, headers: all, ...(body !== undefined ? { body } : {}) });
      const out = new Headers();
      for (const [k, v] of Object.entries(reply.headers)) {
        if (Array.isArray(v)) v.forEach((one) => out.append(k, one));
        else if (v !== undefined) out.set(k, v);
      }
      const empty = reply.status === 204 || reply.status === 304 || method === 'HEAD';
      res = new Response(empty ? null : reply.body, { status: reply.status, headers: out });
      Object.defineProperty(res, 'url', { value: url });
    }
    const text = await res.clone().text();
    options.record.push({ method, url, status: res.status, headers: res.headers, body: text });
    return res;
  };
  return () => {
    globalThis.fetch = original;
  };
}

/** The uid of a login attempt from the login page's URL. */
export const uidOf = (pageUrl: string) => /\/interaction\/([A-Za-z0-9_-]+)/.exec(pageUrl)![1]!;

/** The hidden CSRF token of the first form on a page whose action contains `match`. */
export function csrfOf(body: string, match: string): string {
  const form = [...body.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].find((f) => f[1]!.includes(match));
  if (!form) throw new Error(`no form matching ${match}`);
  return /name="csrf" value="([^"]*)"/.exec(form[2]!)![1]!;
}
