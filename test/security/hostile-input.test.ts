// Hostile input on every endpoint: malformed JSON, wrong content types, oversized bodies
// and URLs, operator injection, CR/LF and markup, odd Unicode. Each answer is a 4xx with a
// clear message (OAuth JSON for APIs, a page for browsers): never a 500, never a stack
// trace, never a partial write, never the payload reflected as markup.
import { expect } from 'chai';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { contentTypeOf, csrfOf, expectClean4xx, expectNoLeak, raw, serverErrors, uidOf, type RawInit, type RawReply } from './support.ts';

const MARKUP = '<x-hostile onmouseover=alert(1)>"\'';
const ODD = {
  nul: '%00',
  loneSurrogate: '%ED%A0%80',
  badPercent: '%E0%A4%A',
  rtl: '%E2%80%AE',
  crlf: '%0D%0ABcc:%20victim@example.com',
};

describe('hostile input', function () {
  this.timeout(60_000);
  const h = new Harness();
  let app: AppJson;
  let A: string; // the app's path prefix
  let browser: Browser;
  let uid: string;
  let emailCsrf: string;
  let resourceId: string;

  const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
  const send = (target: string, init: RawInit = {}) => raw(h.url, target, init);
  const reply = (r: RawReply) => ({ status: r.status, contentType: contentTypeOf(r), body: r.body });
  /** The engine reads bodies only with a Content-Length: 411, unread, and the connection closes. */
  const expectLengthRequired = (r: RawReply, label: string) => {
    expectClean4xx(reply(r), label, 411);
    if (contentTypeOf(r).startsWith('application/json')) {
      expect(JSON.parse(r.body), label).to.deep.equal({ error: 'invalid_request', error_description: 'Send the request body with a Content-Length header.' });
    } else {
      expect(r.body, label).to.include('Content-Length');
    }
    expect(r.headers.connection, label).to.equal('close');
  };
  /** A further client of the app, and an initial access token for registrations at it. */
  let clientId: string;
  let iat: string;
  const cookiesFor = (path: string) => browser.cookieHeader(`${h.url}${path}`);
  const appCount = async () => ((await h.admin('GET', '/admin/apps')).body.apps as unknown[]).length;

  before(async () => {
    await h.start();
    app = await h.createApp({ post_logout_redirect_uris: ['http://localhost:8080/bye'] });
    A = `/apps/${app.app_id}`;
    resourceId = (await h.admin('POST', `/admin/apps/${app.app_id}/resources`, { identifier: 'https://api.example.com', scopes: ['read'] })).body.id;
    clientId = (await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'client_secret_basic' })).body.client_id;
    iat = (await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { max_uses: 100 })).body.initial_access_token;
    browser = new Browser();
    const login = await h.startLogin(app, browser);
    uid = uidOf(login.page.url);
    emailCsrf = csrfOf(login.page.body, '/email');
  });
  after(() => h.stop());
  afterEach(() => {
    expect(serverErrors(h), 'unexpected errors in the log').to.deep.equal([]);
  });

  /** Every endpoint that takes a body: path, method, cookie-bearing or not, and its content type. */
  const bodyEndpoints = () => [
    { label: 'POST /admin/apps', path: '/admin/apps', method: 'POST', headers: admin, type: 'application/json' },
    { label: 'PATCH /admin/apps/{id}', path: `/admin/apps/${app.app_id}`, method: 'PATCH', headers: admin, type: 'application/json' },
    { label: 'POST /admin/apps/{id}/resources', path: `/admin/apps/${app.app_id}/resources`, method: 'POST', headers: admin, type: 'application/json' },
    { label: 'PATCH /admin/apps/{id}/resources/{rid}', path: `/admin/apps/${app.app_id}/resources/${resourceId}`, method: 'PATCH', headers: admin, type: 'application/json' },
    { label: 'POST /admin/apps/{id}/clients', path: `/admin/apps/${app.app_id}/clients`, method: 'POST', headers: admin, type: 'application/json' },
    { label: 'PATCH /admin/apps/{id}/clients/{clientId}', path: `/admin/apps/${app.app_id}/clients/${clientId}`, method: 'PATCH', headers: admin, type: 'application/json' },
    { label: 'POST …/clients/{clientId}/secret', path: `/admin/apps/${app.app_id}/clients/${clientId}/secret`, method: 'POST', headers: admin, type: 'application/json' },
    { label: 'POST /admin/apps/{id}/initial-access-tokens', path: `/admin/apps/${app.app_id}/initial-access-tokens`, method: 'POST', headers: admin, type: 'application/json' },
    { label: 'POST /reg', path: `${A}/reg`, method: 'POST', headers: { authorization: `Bearer ${iat}` }, type: 'application/json' },
    { label: 'POST interaction /email', path: `${A}/interaction/${uid}/email`, method: 'POST', headers: { cookie: cookiesFor(`${A}/interaction/${uid}/email`), accept: 'text/html' }, type: 'application/x-www-form-urlencoded' },
    { label: 'POST interaction /link', path: `${A}/interaction/${uid}/link`, method: 'POST', headers: { cookie: cookiesFor(`${A}/interaction/${uid}/link`), accept: 'text/html' }, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /token', path: `${A}/token`, method: 'POST', headers: {}, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /token/revocation', path: `${A}/token/revocation`, method: 'POST', headers: {}, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /token/introspection', path: `${A}/token/introspection`, method: 'POST', headers: {}, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /token/revoke_all', path: `${A}/token/revoke_all`, method: 'POST', headers: {}, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /me', path: `${A}/me`, method: 'POST', headers: {}, type: 'application/x-www-form-urlencoded' },
    { label: 'POST /session/end/confirm', path: `${A}/session/end/confirm`, method: 'POST', headers: { accept: 'text/html' }, type: 'application/x-www-form-urlencoded' },
  ];

  /** Every endpoint reachable by GET (query strings are their input). */
  const getEndpoints = () => [
    { label: 'GET /admin/apps', path: '/admin/apps', headers: admin },
    { label: 'GET /admin/apps/{id}/resources', path: `/admin/apps/${app.app_id}/resources`, headers: admin },
    { label: 'GET /admin/apps/{id}/clients', path: `/admin/apps/${app.app_id}/clients`, headers: admin },
    { label: 'GET /reg/{clientId}', path: `${A}/reg/${clientId}`, headers: { authorization: 'Bearer x' } },
    { label: 'GET interaction', path: `${A}/interaction/${uid}`, headers: { accept: 'text/html' } },
    { label: 'GET interaction /link', path: `${A}/interaction/${uid}/link`, headers: { accept: 'text/html' } },
    { label: 'GET /auth', path: `${A}/auth`, headers: { accept: 'text/html' } },
    { label: 'GET /me', path: `${A}/me`, headers: {} },
    { label: 'GET /session/end', path: `${A}/session/end`, headers: { accept: 'text/html' } },
    { label: 'GET discovery', path: `${A}/.well-known/openid-configuration`, headers: {} },
    { label: 'GET /jwks', path: `${A}/jwks`, headers: {} },
    { label: 'GET /healthz', path: '/healthz', headers: {} },
  ];

  describe('bodies', () => {
    /** Endpoints whose bodies the engine reads itself (revoke_all included: it is answered by the engine's introspection). */
    const isEngine = (path: string) => path.startsWith(`${A}/`) && !path.startsWith(`${A}/interaction/`);

    it('answers an oversized body with 413 on every endpoint that takes one; a chunked one with 411 where the engine reads it', async () => {
      const big = `a=${'x'.repeat(100 * 1024)}`;
      for (const e of bodyEndpoints()) {
        for (const chunked of [false, true]) {
          const label = `${e.label} (${chunked ? 'chunked' : 'Content-Length'})`;
          const r = await send(e.path, { method: e.method, headers: { ...e.headers, 'content-type': e.type }, body: big, chunked });
          if (chunked && isEngine(e.path)) {
            expectLengthRequired(r, label);
            continue;
          }
          expectClean4xx(reply(r), label, 413);
          if (contentTypeOf(r).startsWith('application/json')) expect(JSON.parse(r.body).error, e.label).to.equal('request_too_large');
          else expect(r.body, e.label).to.match(/larger than/);
        }
      }
      // A body just over the engine's own 56 KiB limit is a 413 too, not its vague 400.
      const r = await send(`${A}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `a=${'x'.repeat(58 * 1024)}` });
      expectClean4xx(reply(r), 'token, 58 KiB', 413);
    });

    it('answers a chunked body to the engine with 411, however small, and one with Content-Length normally', async () => {
      const body = `client_id=${app.client_id}&token=${'x'.repeat(40_000)}`;
      for (const path of [`${A}/token/introspection`, `${A}/token/revoke_all`]) {
        const chunked = await send(path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, chunked: true });
        expectLengthRequired(chunked, `${path} chunked`);
      }
      const small = await send(`${A}/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(small.status, small.body).to.equal(200);
      expect(JSON.parse(small.body)).to.deep.equal({ active: false });
      const none = await send(`${A}/token/revoke_all`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      expect(none.status, none.body).to.equal(200);
      expect(JSON.parse(none.body)).to.deep.equal({ grants_revoked: 0, sessions_ended: 0 });
    });

    it('gets a 413 or 411 across, not a reset connection, when a client keeps uploading megabytes', async () => {
      const huge = Buffer.alloc(4 * 1024 * 1024, 'a');
      for (let i = 0; i < 3; i++) {
        for (const [path, headers, type] of [
          ['/admin/apps', admin, 'application/json'],
          [`${A}/token`, {}, 'application/x-www-form-urlencoded'],
          [`${A}/token/revoke_all`, {}, 'application/x-www-form-urlencoded'],
        ] as const) {
          const r = await send(path, { method: 'POST', headers: { ...headers, 'content-type': type }, body: huge, chunked: true });
          expect(r.status, path).to.equal(isEngine(path) ? 411 : 413);
        }
      }
    });

    it('rejects malformed JSON and wrong content types with 400/415 and a clear message', async () => {
      const malformed = ['{bad', '{"name":', '', '\u0000', '{"a":1}{"b":2}', '[' .repeat(30_000), '\uFEFF{}'];
      for (const body of malformed) {
        const r = await send('/admin/apps', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body });
        expectClean4xx(reply(r), `admin JSON ${JSON.stringify(body.slice(0, 20))}`, 400);
      }
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', ';;;', 'application/jsonx']) {
        const r = await send('/admin/apps', { method: 'POST', headers: { ...admin, 'content-type': type }, body: '{"name":"x"}' });
        expectClean4xx(reply(r), `admin as ${type}`, 415);
      }
      // Every form endpoint: JSON, XML, text, multipart and no type at all.
      for (const e of bodyEndpoints().filter((x) => x.type !== 'application/json')) {
        for (const type of ['application/json', 'application/xml', 'text/plain', 'multipart/form-data; boundary=x', undefined]) {
          const r = await send(e.path, {
            method: e.method,
            headers: { ...e.headers, ...(type ? { 'content-type': type } : {}) },
            body: '{"email":{"$gt":""},"token":{"$ne":null}}',
          });
          expectClean4xx(reply(r), `${e.label} as ${type ?? 'no type'}`, [400, 401, 403, 404, 415]);
        }
      }
    });

    it('rejects invalid UTF-8, bad percent-encoding and lone surrogates in bodies with 400', async () => {
      const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from(`","redirect_uris":["${REDIRECT_URI}"]}`)]);
      const before = await appCount();
      let r = await send('/admin/apps', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: bytes });
      expectClean4xx(reply(r), 'invalid UTF-8', 400);
      expect(r.body).to.match(/UTF-8/);
      // JSON escapes can smuggle a lone surrogate past any UTF-8 check.
      r = await send('/admin/apps', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: `{"name":"App \\ud800","redirect_uris":["${REDIRECT_URI}"]}` });
      expectClean4xx(reply(r), 'lone surrogate in JSON', 400);
      expect(r.body).to.match(/Unicode/);
      r = await send(`/admin/apps/${app.app_id}`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: '{"name":"\\udfff"}' });
      expectClean4xx(reply(r), 'lone surrogate in PATCH', 400);
      expect(await appCount()).to.equal(before);
      expect((await h.admin('GET', `/admin/apps/${app.app_id}`)).body.name).to.equal(app.name);
      // A real U+FFFD is a character like any other, not "invalid UTF-8".
      const ok = await h.admin('POST', '/admin/apps', { name: 'Replacement \uFFFD App', redirect_uris: [REDIRECT_URI] });
      expect(ok.status).to.equal(201);

      for (const bad of [ODD.badPercent, ODD.loneSurrogate, '%', '%zz']) {
        r = await send(`${A}/token/revoke_all`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `client_id=${app.app_id}&token=${bad}` });
        expectClean4xx(reply(r), `revoke_all token=${bad}`, 400);
        expect(r.body).to.match(/encoded/);
        r = await send(`${A}/interaction/${uid}/link`, { method: 'POST', headers: { cookie: cookiesFor(`${A}/interaction/${uid}/link`), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: `code=${bad}` });
        expectClean4xx(reply(r), `POST /link code=${bad}`, 400);
      }
    });
  });

  describe('URLs', () => {
    it('answers an oversized URL with 414 on every path, the engine\'s included', async () => {
      const long = 'x'.repeat(9 * 1024);
      for (const e of [...getEndpoints(), { label: 'unknown engine path', path: `${A}/nope`, headers: {} }, { label: 'unknown app', path: '/apps/nope/auth', headers: {} }]) {
        const r = await send(`${e.path}?q=${long}`, { headers: e.headers });
        expectClean4xx(reply(r), `${e.label} + 9 KiB`, 414);
      }
      for (const e of bodyEndpoints()) {
        const r = await send(`${e.path}?q=${long}`, { method: e.method, headers: { ...e.headers, 'content-type': e.type }, body: 'a=b' });
        expectClean4xx(reply(r), `${e.label} + 9 KiB`, 414);
      }
      // Beyond Node's header limit, Node itself answers 431: fine, and still no 500.
      const r = await send(`${A}/auth?q=${'x'.repeat(20 * 1024)}`);
      expect(r.status).to.be.oneOf([414, 431]);
    });

    it('answers a path the engine has no route for with a clear 404, JSON or a page', async () => {
      let r = await send(`${A}/nope`);
      expectClean4xx(reply(r), 'engine 404 JSON', 404);
      r = await send(`${A}/jwks/${ODD.badPercent}`, { headers: { accept: 'text/html' } });
      expectClean4xx(reply(r), 'engine 404 page', 404);
      r = await send(`${A}/token`); // GET on a POST endpoint
      expectClean4xx(reply(r), 'GET /token', 404);
      r = await send(`${A}/session/end`, { method: 'PUT', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'state=1' });
      expectClean4xx(reply(r), 'PUT /session/end', 404);
    });

    it('answers odd Unicode and operator injection in query strings and paths without a 5xx or reflected markup', async () => {
      const values = [...Object.values(ODD), encodeURIComponent(MARKUP), 'x'.repeat(4000), '%F0%9F%98%80'];
      for (const e of getEndpoints()) {
        for (const value of values) {
          for (const query of [`code=${value}`, `client_id=${value}&state=${value}&login_hint=${value}`, `code[$gt]=${value}`, `client_id[$ne]=&redirect_uri[$gt]=`]) {
            const r = await send(`${e.path}?${query}`, { headers: { ...e.headers, cookie: cookiesFor(e.path) } });
            const label = `${e.label}?${query.slice(0, 60)}`;
            expect(r.status, `${label}: ${r.body.slice(0, 200)}`).to.be.below(500);
            expectNoLeak(r.body, label);
            if (!contentTypeOf(r).startsWith('application/json')) expect(r.body, label).not.to.include('<x-hostile');
            if (r.status >= 400) expectClean4xx(reply(r), label);
          }
        }
      }
      for (const segment of [ODD.badPercent, ODD.loneSurrogate, ODD.nul, '..%2F..%2Fadmin', encodeURIComponent(MARKUP)]) {
        for (const path of [`/apps/${segment}/auth`, `${A}/interaction/${segment}`, `${A}/interaction/${uid}/${segment}`, `/admin/apps/${segment}`, `/${segment}`]) {
          const r = await send(path, { headers: { ...admin, accept: 'text/html' } });
          expectClean4xx(reply(r), path, [400, 404, 405]);
          // JSON may quote the input (as a JSON string, never sniffed as HTML: nosniff); a page never shows it raw.
          if (contentTypeOf(r).startsWith('text/html')) expect(r.body, path).not.to.include('<x-hostile');
        }
      }
    });
  });

  describe('the admin API', () => {
    it('rejects operator injection and odd names and leaves the app list unchanged', async () => {
      const before = await appCount();
      const bodies: unknown[] = [
        { name: { $ne: null }, redirect_uris: [REDIRECT_URI] },
        { name: 'x', redirect_uris: { $gt: '' } },
        { name: 'x', redirect_uris: [{ $gt: '' }] },
        { name: ['x'], redirect_uris: [REDIRECT_URI] },
        JSON.parse(`{"name":"x","redirect_uris":["${REDIRECT_URI}"],"__proto__":{"admin":true}}`),
        { name: 'x', redirect_uris: [REDIRECT_URI], constructor: { prototype: { admin: true } } },
        { name: 'Evil\r\nBcc: victim@example.com', redirect_uris: [REDIRECT_URI] },
        { name: 'Evil\u0000App', redirect_uris: [REDIRECT_URI] },
        { name: 'Evil \u202Eppa', redirect_uris: [REDIRECT_URI] },
        { name: 'x'.repeat(10_000), redirect_uris: [REDIRECT_URI] },
        { name: 'x', redirect_uris: [`${REDIRECT_URI}\r\nSet-Cookie: a=b`] },
        { name: 'x', redirect_uris: ['javascript:alert(1)//'] },
        { name: 'x', redirect_uris: [REDIRECT_URI], id_token_ttl: { $gt: 0 } },
        { name: 'x', redirect_uris: [REDIRECT_URI], id_token_ttl: 1e308 },
        { name: 'x', redirect_uris: [REDIRECT_URI], id_token_ttl: '600' },
      ];
      for (const body of bodies) {
        const r = await send('/admin/apps', { method: 'POST', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expectClean4xx(reply(r), `create ${JSON.stringify(body).slice(0, 80)}`, 400);
        const p = await send(`/admin/apps/${app.app_id}`, { method: 'PATCH', headers: { ...admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
        expectClean4xx(reply(p), `patch ${JSON.stringify(body).slice(0, 80)}`, 400);
      }
      expect(await appCount()).to.equal(before);
      const still = (await h.admin('GET', `/admin/apps/${app.app_id}`)).body;
      expect(still.name).to.equal(app.name);
      expect(still.redirect_uris).to.deep.equal(app.redirect_uris);
      expect(({} as Record<string, unknown>).admin).to.equal(undefined);
    });
  });

  describe('the hosted login', () => {
    it('rejects operator injection, CR/LF, NUL, markup and odd Unicode in the email field: 400, escaped, no mail', async () => {
      const path = `${A}/interaction/${uid}/email`;
      const sentBefore = h.smtp.mails.length;
      const bodies = [
        `csrf=${emailCsrf}&email[$gt]=`,
        `csrf=${emailCsrf}&email[$ne]=null&email[]=a`,
        `csrf=${emailCsrf}&email=a@example.com${ODD.crlf}`,
        `csrf=${emailCsrf}&email=a@example.com%0ABcc:b@example.com`,
        `csrf=${emailCsrf}&email=a${ODD.nul}@example.com`,
        `csrf=${emailCsrf}&email=${encodeURIComponent(`${MARKUP}@example.com`)}`,
        `csrf=${emailCsrf}&email=%22${encodeURIComponent('<script>')}%22@example.com`,
        `csrf=${emailCsrf}&email=${ODD.rtl}moc.elpmaxe@a`,
        `csrf=${emailCsrf}&email=${'a'.repeat(50_000)}@example.com`,
        `csrf=${emailCsrf}&email=a@example.com,b@example.com`,
        `csrf=${emailCsrf}&email=a@example.com&email=b@example.com`,
        `csrf=${emailCsrf}&email=${ODD.loneSurrogate}@example.com`,
        `csrf=${emailCsrf}&email=${ODD.badPercent}@example.com`,
      ];
      for (const body of bodies) {
        const r = await send(path, { method: 'POST', headers: { cookie: cookiesFor(path), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body });
        const label = `email form ${body.slice(body.indexOf('&') + 1, body.indexOf('&') + 60)}`;
        expectClean4xx(reply(r), label, 400);
        expect(r.body, label).not.to.include('<x-hostile');
        expect(r.body, label).not.to.include('<script>');
      }
      await h.server.mailQueue.idle();
      expect(h.smtp.mails.length, 'mail sent for invalid input').to.equal(sentBefore);
      // The rejected value comes back escaped in the form, so the person can correct it.
      const r = await send(path, { method: 'POST', headers: { cookie: cookiesFor(path), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' }, body: `csrf=${emailCsrf}&email=${encodeURIComponent(MARKUP)}` });
      expect(r.body).to.include('value="&lt;x-hostile onmouseover=alert(1)&gt;&quot;&#39;"');
    });

    it('never reflects login_hint or state into the login page, and returns state only URL-encoded', async () => {
      const config = await h.client(app);
      const state = `${MARKUP}\r\n${decodeURIComponent('%E2%80%AE')}`;
      const url = new URL(config.serverMetadata().authorization_endpoint!);
      url.search = new URLSearchParams({
        client_id: app.client_id,
        response_type: 'code',
        scope: 'openid email',
        redirect_uri: REDIRECT_URI,
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state,
        login_hint: `${MARKUP}@example.com\r\nX: y`,
      }).toString();
      const b = new Browser();
      const page = await b.navigate(url.href, {}, REDIRECT_URI);
      expect(page.status).to.equal(200);
      expect(page.body).not.to.include('<x-hostile');
      expect(page.body).not.to.include('x-hostile'); // neither raw nor escaped: never shown

      // An error response carries the state back, URL-encoded in the Location only.
      const bad = new URL(url);
      bad.searchParams.set('prompt', 'none'); // no session: login_required, sent back to the client
      const r = await send(`${bad.pathname}${bad.search}`, { headers: { accept: 'text/html' } });
      expect(r.status).to.equal(303);
      const location = String(r.headers.location);
      expect(location.startsWith(`${REDIRECT_URI}?`)).to.equal(true);
      expect(location).not.to.match(/[<>"'\r\n\s]/);
      expect(new URL(location).searchParams.get('state')).to.equal(state);
      expect(r.body).not.to.include('<x-hostile');

      // A successful sign-in returns it the same way.
      const b2 = new Browser();
      const start = await b2.navigate(url.href);
      const { link } = await h.requestLink(b2, start, 'state-markup@example.com');
      const confirm = await b2.navigate(link);
      const done = await b2.submit(confirm, {}, '/link', REDIRECT_URI);
      expect(done.url).not.to.match(/[<>"'\r\n\s]/);
      expect(new URL(done.url).searchParams.get('state')).to.equal(state);
    });

    it('escapes a client name with markup on the pages and in the mail, and keeps CR/LF out of the subject', async () => {
      const evil = await h.createApp({ name: `${MARKUP} & Co` });
      const b = new Browser();
      const { page } = await h.startLogin(evil, b);
      expect(page.body).not.to.include('<x-hostile');
      expect(page.body).to.include('&lt;x-hostile onmouseover=alert(1)&gt;&quot;&#39; &amp; Co');
      const { mail, page: check } = await h.requestLink(b, page, 'escaped@example.com');
      expect(check.body).not.to.include('<x-hostile');
      expect(mail.html).not.to.include('<x-hostile');
      expect(mail.subject).to.equal(`Sign in to ${MARKUP} & Co`);
      expect(mail.subject).not.to.match(/[\r\n]/);
    });
  });

  describe('OIDC endpoints', () => {
    it('answer injection and odd Unicode in form bodies with a 4xx (or the spec\'s 200) and never a 5xx', async () => {
      // POST /auth and /session/end answer 303 to GET with a handle: what the engine then makes of the body is checked too.
      const endpoints = ['/token', '/token/revocation', '/token/introspection', '/token/revoke_all', '/me', '/session/end/confirm', '/auth', '/session/end'];
      const bodies = [
        `client_id=${app.client_id}&grant_type[$gt]=&code[$ne]=x`,
        `client_id[$ne]=&token[$gt]=`,
        `client_id=${app.client_id}&grant_type=authorization_code&code=${ODD.nul}${ODD.rtl}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_verifier=${'a'.repeat(43)}`,
        `client_id=${app.client_id}&token=${'x'.repeat(40_000)}`,
        `client_id=${app.client_id}&grant_type=refresh_token&refresh_token=${encodeURIComponent(MARKUP)}`,
        `client_id=${app.client_id}&token=${ODD.loneSurrogate}&xsrf=${encodeURIComponent(MARKUP)}&logout=yes`,
        `client_id=${encodeURIComponent(MARKUP)}&token=a`,
        `=&&&=&client_id`,
      ];
      for (const endpoint of endpoints) {
        for (const body of bodies) {
          for (const accept of ['application/json', 'text/html']) {
            const posted = await send(`${A}${endpoint}`, { method: 'POST', headers: { accept, 'content-type': 'application/x-www-form-urlencoded' }, body });
            const location = posted.status === 303 ? new URL(String(posted.headers.location)) : undefined;
            const r = location ? await send(`${location.pathname}${location.search}`, { headers: { accept } }) : posted;
            const label = `${endpoint} ${body.slice(0, 50)} (${accept})`;
            expect(r.status, `${label}: ${r.body.slice(0, 200)}`).to.be.below(500);
            expectNoLeak(r.body, label);
            expect(r.body, label).not.to.include('<x-hostile');
            if (r.status >= 400) expectClean4xx(reply(r), label);
          }
        }
      }
    });

    it('answer bad Authorization headers with a 401, not a 500', async () => {
      for (const authorization of ['Bearer', 'Bearer ', `Bearer ${'x'.repeat(6000)}`, 'Basic %%%', 'Basic ' + Buffer.from(`${MARKUP}:x`).toString('base64'), 'Basic ' + Buffer.from([0xff, 0x3a, 0xfe]).toString('base64'), 'DPoP x', 'Bearer a b']) {
        for (const [method, path, body] of [
          ['GET', `${A}/me`, undefined],
          ['POST', `${A}/token`, 'grant_type=refresh_token&refresh_token=x'],
          ['POST', `${A}/token/introspection`, 'token=x'],
          ['POST', `${A}/token/revoke_all`, 'token=x'],
          ['GET', '/admin/apps', undefined],
          ['POST', `${A}/reg`, '{}'],
          ['GET', `${A}/reg/${clientId}`, undefined],
        ] as const) {
          const r = await send(path, { method, headers: { authorization, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) }, ...(body ? { body } : {}) });
          expectClean4xx(reply(r), `${method} ${path} with ${authorization.slice(0, 30)}`, [400, 401]);
        }
      }
    });
  });
});
