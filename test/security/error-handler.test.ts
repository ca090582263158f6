// The error mapping on its own (src/http/error-handler.ts): whatever a handler throws, the
// client gets a status, a stable `error` code and a description, JSON or a page, with the
// security headers and no stack trace; nothing prepared before the failure (a redirect)
// leaks out with it.
import { expect } from 'chai';
import Koa from 'koa';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { errorHandler } from '../../src/http/error-handler.ts';
import { ERROR_KINDS, PosternError, type ErrorKind } from '../../src/errors.ts';
import { requestLog, securityHeaders } from '../../src/http/request-context.ts';
import { createLogger } from '../../src/log.ts';
import { errorPage } from '../../interactions/views/pages.ts';
import { STACK_TRACE } from './support.ts';

describe('error mapping', () => {
  const logs: string[] = [];
  let server: Server;
  let url: string;

  before(async () => {
    const logger = createLogger('debug', (line) => void logs.push(line));
    const app = new Koa();
    app.use(requestLog(logger));
    app.use(securityHeaders(false));
    app.use(errorHandler(logger, errorPage));
    app.use(async (ctx) => {
      switch (ctx.path) {
        case '/null':
          throw null;
        case '/string':
          throw 'a string';
        case '/uri':
          decodeURIComponent('%E0%A4%A');
          break;
        case '/type':
          (undefined as unknown as { x: { y: number } }).x.y = 1;
          break;
        case '/redirect-then-fail':
          ctx.redirect('https://elsewhere.example/next');
          throw new PosternError('bad_request', 'Nope.');
        case '/koa-400':
          ctx.throw(400, 'Bad thing.');
          break;
        default:
          if (ctx.path.startsWith('/kind/')) throw new PosternError(ctx.path.slice(6) as ErrorKind, `A ${ctx.path.slice(6)} error.`, { 'X-Kind': 'yes' });
          ctx.body = 'ok';
      }
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  async function get(path: string, accept = 'application/json') {
    const res = await fetch(`${url}${path}`, { headers: { accept }, redirect: 'manual' });
    const body = await res.text();
    expect(body, path).not.to.match(STACK_TRACE);
    expect(res.headers.get('x-content-type-options'), path).to.equal('nosniff');
    expect(res.headers.get('cache-control'), path).to.equal('no-store');
    return { status: res.status, headers: res.headers, body };
  }

  it('turns anything thrown, even null or a string, into a 500 with a reference and no details', async () => {
    for (const path of ['/null', '/string', '/type']) {
      const res = await get(path);
      expect(res.status, path).to.equal(500);
      const json = JSON.parse(res.body);
      expect(json.error).to.equal('server_error');
      expect(json.error_description).to.match(/Reference: [0-9a-f-]{36}/);
      expect(json.error_description).to.include(res.headers.get('x-request-id'));
    }
    // The details are in the log, under the same reference.
    expect(logs.filter((l) => l.includes('"unhandled error"'))).to.have.length(3);
  });

  it('turns a URIError (bad percent-encoding decoded by a handler) into a 400', async () => {
    const res = await get('/uri');
    expect(res.status).to.equal(400);
    expect(JSON.parse(res.body)).to.deep.equal({ error: 'invalid_request', error_description: 'The request is not properly encoded (invalid percent-encoding or UTF-8).' });
    const page = await get('/uri', 'text/html');
    expect(page.status).to.equal(400);
    expect(page.body).to.match(/^<!doctype html>/);
    expect(page.headers.get('content-security-policy')).to.include("frame-ancestors 'none'");
  });

  it("speaks the browser's language on its own pages: a sentence by status, the description folded away, a fault's reference only", async () => {
    const page = async (path: string, language: string) => {
      const res = await fetch(`${url}${path}`, { headers: { accept: 'text/html', 'accept-language': language } });
      return { status: res.status, body: await res.text() };
    };
    const notFound = await page('/kind/not_found', 'de-CH, de;q=0.9, en;q=0.1');
    expect(notFound.status).to.equal(404);
    expect(notFound.body).to.include('lang="de"').and.include('Unter dieser Adresse gibt es nichts');
    expect(notFound.body).to.match(/<details[^>]*><summary>[^<]+<\/summary><p class="ref" dir="ltr">A not_found error.<\/p><\/details>/);
    const limited = await page('/kind/rate_limited', 'ar');
    expect(limited.body).to.include('lang="ar"').and.include('dir="rtl"').and.include('محاولات كثيرة');
    const fault = await page('/type', 'fr');
    expect(fault.status).to.equal(500);
    expect(fault.body).to.include('lang="fr"').and.include('Une erreur inattendue').and.not.include('<details');
    expect(fault.body).to.match(/[0-9a-f-]{36}/);
    // Unknown or hostile language input falls back to English, never fails.
    const hostile = await page('/kind/bad_request', `${'x'.repeat(600)},<script>`);
    expect(hostile.status).to.equal(400);
    expect(hostile.body).to.include('lang="en"').and.not.include('<script>');
  });

  it('does not send a redirect prepared before the failure along with the error', async () => {
    const res = await get('/redirect-then-fail');
    expect(res.status).to.equal(400);
    expect(res.headers.get('location')).to.equal(null);
  });

  it('answers every kind of PosternError with its one status and OAuth error code, its description and headers', async () => {
    const kinds = Object.keys(ERROR_KINDS) as ErrorKind[];
    expect(kinds).to.include.members(['bad_request', 'not_found', 'unavailable', 'internal']);
    for (const kind of kinds) {
      const res = await get(`/kind/${kind}`);
      expect(res.status, kind).to.equal(ERROR_KINDS[kind].status);
      expect(JSON.parse(res.body), kind).to.deep.equal({ error: ERROR_KINDS[kind].error, error_description: `A ${kind} error.` });
      expect(res.headers.get('x-kind'), kind).to.equal('yes');
    }
  });

  it('keeps Koa\'s own client errors as 4xx with their message', async () => {
    const res = await get('/koa-400');
    expect(res.status).to.equal(400);
    expect(JSON.parse(res.body)).to.deep.equal({ error: 'invalid_request', error_description: 'Bad thing.' });
  });
});
