// Property-based fuzzing (fast-check) of the admin API and the hosted login forms with
// random JSON shapes, strings, Unicode and raw bytes. Whatever is sent: no 5xx, no stack
// trace, an error body that says what is wrong, no partial write (the app list changes
// only on 201, a refused PATCH changes nothing), and no mail for invalid input.
import { expect } from 'chai';
import fc from 'fast-check';
import { normalizeEmail } from '../../src/accounts/email-address.ts';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';
import { csrfOf, expectNoLeak, raw, serverErrors, uidOf, type RawReply } from './support.ts';

const RUNS = 200;
const INJECTION = ['', '<x-fuzz>', '"><x-fuzz a=1>', "'><x-fuzz>", '\r\nBcc: x@example.com', '\u0000', '\u202E', '\uD800', '%00', '%ED%A0%80', '%E0%A4%A', '{"$gt":""}'];

/** Strings that are mostly hostile: any Unicode (lone surrogates too), raw bytes, injections, long runs. */
const hostileString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 80 }),
  fc.tuple(fc.string({ maxLength: 20 }), fc.constantFrom(...INJECTION), fc.string({ maxLength: 20 })).map(([a, b, c]) => a + b + c),
  fc.integer({ min: 1000, max: 70_000 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: fc.constantFrom('%', 'E', 'D', 'A', '0', '8', 'f', '&', '=', '+', '[', ']', '$'), maxLength: 40 }),
);

const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  hostileString,
  fc.constantFrom({ $gt: '' }, { $ne: null }, { $where: 'sleep(1000)' }, [], {}, null, 1e308, -0),
);

/** Each field drawn mostly from its valid range, sometimes from hostile values, so whole bodies are valid now and then. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 12, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: hostileJson });
const uri = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(REDIRECT_URI, 'https://app.example.com/cb', 'com.example.app:/cb', 'http://127.0.0.1:5000/cb') },
  { weight: 1, arbitrary: fc.constantFrom('javascript:alert(1)', 'http://evil.example/cb', 'https://a.example/#f', 'https://u:p@a.example/', 'data:text/html,x', '', `${REDIRECT_URI}\r\nX: y`) },
  { weight: 1, arbitrary: fc.webUrl() },
  { weight: 1, arbitrary: hostileString },
);
const seconds = (min: number, max: number) =>
  fc.oneof({ weight: 8, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.integer() }, { weight: 1, arbitrary: fc.double() });

const appFields = {
  name: field(fc.string({ minLength: 1, maxLength: 100 })),
  redirect_uris: field(fc.array(uri, { minLength: 1, maxLength: 3 })),
  post_logout_redirect_uris: field(fc.array(uri, { maxLength: 2 })),
  id_token_ttl: field(seconds(60, 86_400)),
  magic_link_ttl: field(seconds(60, 86_400)),
  refresh_token_idle_ttl: field(seconds(60, 604_800)),
  refresh_token_max_ttl: field(seconds(604_800, 31_536_000)),
  open_registration: field(
    fc.oneof(
      fc.constant(null),
      fc.record(
        {
          redirect_uri_hosts: field(fc.array(fc.oneof(fc.constantFrom('app.example.com', '127.0.0.1', 'APP.example.com', 'app.example.com:443', 'https://app.example.com'), hostileString), { maxLength: 3 })),
          max_clients: field(seconds(0, 60)),
          client_types: field(fc.array(fc.constantFrom('public', 'confidential', 'Public', ''), { maxLength: 3 })),
        },
        { requiredKeys: [] },
      ),
    ),
  ),
};
const createFields = { ...appFields, token_endpoint_auth_method: field(fc.constantFrom('none', 'client_secret_basic', 'client_secret_post')) };
const createShape = fc.oneof(
  fc.record(createFields, { requiredKeys: ['name', 'redirect_uris'] }),
  fc.record(createFields, { requiredKeys: [] }),
);
const patchShape = fc.record(appFields, { requiredKeys: [] });
const scope = fc.oneof({ weight: 8, arbitrary: fc.constantFrom('read:things', 'write', 'a.b/c') }, { weight: 1, arbitrary: fc.constantFrom('openid', 'a b', 'x"', '') }, { weight: 1, arbitrary: hostileString });
const resourceFields = {
  identifier: field(fc.oneof({ weight: 4, arbitrary: fc.webUrl({ withQueryParameters: false, withFragments: false }) }, { weight: 1, arbitrary: uri })),
  name: field(fc.oneof(fc.string({ minLength: 1, maxLength: 100 }), fc.constant(null))),
  scopes: field(fc.array(scope, { minLength: 1, maxLength: 4 })),
  access_token_ttl: field(seconds(60, 3600)),
};
const createResourceShape = fc.record(resourceFields, { requiredKeys: ['identifier', 'scopes'] });
const patchResourceShape = fc.record(resourceFields, { requiredKeys: [] });
const extraKeys = fc.dictionary(fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', '$where', 'id', 'app_id', 'keys')), hostileJson, { maxKeys: 2 });

/** A body: a mostly-valid object (maybe with extra keys), any JSON, or text that is not JSON at all. */
const body = (shape: fc.Arbitrary<Record<string, unknown>>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(shape, fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraKeys })).map(([s, e]) => JSON.stringify({ ...e, ...s })) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: hostileString },
  );
const contentType = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  { weight: 2, arbitrary: fc.constantFrom('application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'application/xml', '', 'application/json-patch+json') },
);

const STATUSES = [200, 201, 400, 404, 413, 415];

function checkAdminReply(res: RawReply, label: string) {
  expect(STATUSES, `${label}: status ${res.status} ${res.body.slice(0, 300)}`).to.include(res.status);
  expectNoLeak(res.body, label);
  expect(String(res.headers['content-type']), label).to.match(/^application\/json/);
  const json = JSON.parse(res.body) as Record<string, unknown>;
  if (res.status >= 400) {
    expect(json.error, `${label}: error`).to.be.a('string').and.match(/^[a-z_]+$/);
    expect(json.error_description, `${label}: error_description`).to.be.a('string').and.not.equal('');
  }
}

/** Puts a string into a query string as is where it is printable ASCII, so bad %-escapes reach the server. */
function looseQueryValue(value: string): string {
  return [...value].map((c) => (/[\x21-\x7e]/.test(c) && !'#&'.includes(c) ? c : c.isWellFormed() ? encodeURIComponent(c) : '%ED%A0%80')).join('');
}

describe('fuzzing', function () {
  this.timeout(120_000);
  const h = new Harness();
  let app: AppJson;

  before(async () => {
    await h.start({ TRUST_PROXY: 'true' });
    app = await h.createApp();
  });
  after(() => h.stop());
  afterEach(() => {
    expect(serverErrors(h), 'unexpected errors in the log').to.deep.equal([]);
  });

  const admin = (method: string, path: string, text?: string, type?: string) =>
    raw(h.url, path, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(type ? { 'content-type': type } : {}) },
      ...(text === undefined ? {} : { body: text }),
    });
  const appList = async () => JSON.parse((await admin('GET', '/admin/apps')).body).apps as AppJson[];

  describe('the admin API', () => {
    it('POST /admin/apps: always a listed status and a JSON body; the app count changes only on 201', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(body(createShape), contentType, async (text, type) => {
          const before = (await appList()).length;
          const res = await admin('POST', '/admin/apps', text, type || undefined);
          checkAdminReply(res, `POST ${text.slice(0, 120)} as ${type}`);
          expect(res.status).not.to.equal(200);
          const after = (await appList()).length;
          expect(after - before, `count after ${res.status}`).to.equal(res.status === 201 ? 1 : 0);
          if (res.status === 201) created += 1;
        }),
        { numRuns: RUNS },
      );
      expect(created, 'some random bodies are valid apps').to.be.greaterThan(0);
    });

    it('PATCH /admin/apps/{id}: always a listed status and a JSON body; a refused change leaves the app as it was', async () => {
      let patched = 0;
      const target = fc.oneof({ weight: 8, arbitrary: fc.constant('app') }, { weight: 1, arbitrary: fc.uuid() }, { weight: 1, arbitrary: hostileString.map((x) => x.slice(0, 200)) });
      await fc.assert(
        fc.asyncProperty(target, body(patchShape), contentType, async (which, text, type) => {
          const id = which === 'app' ? app.app_id : looseQueryValue(which).replace(/[/?]/g, '_') || 'x';
          const before = await appList();
          const stored = JSON.stringify(before.find((a) => a.app_id === app.app_id));
          const res = await admin('PATCH', `/admin/apps/${id}`, text, type || undefined);
          checkAdminReply(res, `PATCH ${id.slice(0, 40)} ${text.slice(0, 120)} as ${type}`);
          expect(res.status).not.to.equal(201);
          const after = await appList();
          expect(after.length).to.equal(before.length);
          if (res.status !== 200) expect(JSON.stringify(after.find((a) => a.app_id === app.app_id))).to.equal(stored);
          else patched += 1;
        }),
        { numRuns: RUNS },
      );
      expect(patched, 'some random bodies are valid changes').to.be.greaterThan(0);
    });
    const clientShape = fc.record(
      {
        client_name: field(fc.string({ minLength: 1, maxLength: 100 })),
        redirect_uris: field(fc.array(uri, { minLength: 1, maxLength: 3 })),
        post_logout_redirect_uris: field(fc.array(uri, { maxLength: 2 })),
        token_endpoint_auth_method: field(fc.constantFrom('none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt')),
        grant_types: field(fc.constantFrom(['authorization_code'], ['authorization_code', 'refresh_token'], ['implicit'])),
        id_token_signed_response_alg: field(fc.constantFrom('ES512', 'RS256', 'ES256', 'EdDSA', 'HS256', 'none')),
        logo_uri: field(uri),
        application_type: field(fc.constantFrom('web', 'native')),
      },
      { requiredKeys: [] },
    );
    /** A client every random run could have drawn: one redirect URI, nothing else. */
    const VALID_CLIENT = JSON.stringify({ redirect_uris: ['https://app.example/callback'] });
    const clientCount = async () => JSON.parse((await admin('GET', `/admin/apps/${app.app_id}/clients`)).body).clients.length as number;

    it('POST /admin/apps/{id}/clients: always a listed status and a JSON body; the client count changes only on 201', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(body(clientShape), contentType, async (text, type) => {
          const before = await clientCount();
          const res = await admin('POST', `/admin/apps/${app.app_id}/clients`, text, type || undefined);
          checkAdminReply(res, `POST client ${text.slice(0, 120)} as ${type}`);
          expect(res.status).not.to.equal(200);
          expect((await clientCount()) - before, `count after ${res.status}`).to.equal(res.status === 201 ? 1 : 0);
          if (res.status !== 201) return;
          created += 1;
          // Within the app's limit of clients: each one made is deleted again.
          expect((await admin('DELETE', `/admin/apps/${app.app_id}/clients/${JSON.parse(res.body).client_id}`)).status).to.equal(204);
        }),
        // A valid body first, so "some are valid" never rests on chance alone.
        { numRuns: RUNS, examples: [[VALID_CLIENT, 'application/json']] },
      );
      expect(created, 'some random bodies are valid clients').to.be.greaterThan(0);
    });

    it('POST {issuer}/reg with random bodies and tokens: never a 5xx, always JSON; the client count changes only on 201', async () => {
      const minted = await admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, JSON.stringify({ max_uses: 1000 }), 'application/json');
      const token = JSON.parse(minted.body).initial_access_token as string;
      const bearer = fc.oneof({ weight: 8, arbitrary: fc.constant(`Bearer ${token}`) }, { weight: 1, arbitrary: hostileString.map((x) => `Bearer ${looseQueryValue(x).slice(0, 200)}`) }, { weight: 1, arbitrary: fc.constant('') });
      let registered = 0;
      await fc.assert(
        fc.asyncProperty(body(clientShape), contentType, bearer, async (text, type, authorization) => {
          const before = await clientCount();
          const res = await raw(h.url, `/apps/${app.app_id}/reg`, {
            method: 'POST',
            headers: { ...(authorization && { authorization }), ...(type ? { 'content-type': type } : {}) },
            body: text,
          });
          const label = `reg ${text.slice(0, 120)} as ${type}`;
          expect(res.status, `${label}: ${res.body.slice(0, 300)}`).to.be.within(200, 499);
          expectNoLeak(res.body, label);
          expect(String(res.headers['content-type']), label).to.match(/^application\/json/);
          expect((await clientCount()) - before, `count after ${res.status}`).to.equal(res.status === 201 ? 1 : 0);
          if (res.status !== 201) return;
          registered += 1;
          expect((await admin('DELETE', `/admin/apps/${app.app_id}/clients/${JSON.parse(res.body).client_id}`)).status).to.equal(204);
        }),
        { numRuns: RUNS, examples: [[VALID_CLIENT, 'application/json', `Bearer ${token}`]] },
      );
      expect(registered, 'some random bodies register a client').to.be.greaterThan(0);
    });
  });

  describe('the admin API for resources', () => {
    let owner: AppJson;
    let resourceId: string;
    const resourcesOf = async () => JSON.parse((await admin('GET', `/admin/apps/${owner.app_id}/resources`)).body).resources as { id: string }[];
    before(async () => {
      owner = await h.createApp({ name: 'Resources' });
      resourceId = (await h.admin('POST', `/admin/apps/${owner.app_id}/resources`, { identifier: 'https://api.example.com', scopes: ['read'] })).body.id;
    });

    it('POST /admin/apps/{id}/resources: always a listed status and a JSON body; the list grows only on 201', async () => {
      let created = 0;
      await fc.assert(
        fc.asyncProperty(body(createResourceShape), contentType, async (text, type) => {
          const before = await resourcesOf();
          // The per-app limit would refuse valid bodies after a while: start over below it.
          if (before.length >= 15) {
            for (const r of before.filter((r) => r.id !== resourceId)) await h.admin('DELETE', `/admin/apps/${owner.app_id}/resources/${r.id}`);
          }
          const count = (await resourcesOf()).length;
          const res = await admin('POST', `/admin/apps/${owner.app_id}/resources`, text, type || undefined);
          checkAdminReply(res, `POST resource ${text.slice(0, 120)} as ${type}`);
          expect((await resourcesOf()).length - count, `count after ${res.status}`).to.equal(res.status === 201 ? 1 : 0);
          if (res.status === 201) created += 1;
        }),
        { numRuns: RUNS },
      );
      expect(created, 'some random bodies are valid resources').to.be.greaterThan(0);
    });

    it('PATCH /admin/apps/{id}/resources/{rid}: always a listed status and a JSON body; a refused change leaves the resource as it was', async () => {
      let patched = 0;
      const target = fc.oneof({ weight: 8, arbitrary: fc.constant('resource') }, { weight: 1, arbitrary: hostileString.map((x) => x.slice(0, 200)) });
      await fc.assert(
        fc.asyncProperty(target, body(patchResourceShape), contentType, async (which, text, type) => {
          const id = which === 'resource' ? resourceId : looseQueryValue(which).replace(/[/?]/g, '_') || 'x';
          const stored = JSON.stringify((await resourcesOf()).find((r) => r.id === resourceId));
          const res = await admin('PATCH', `/admin/apps/${owner.app_id}/resources/${id}`, text, type || undefined);
          checkAdminReply(res, `PATCH resource ${id.slice(0, 40)} ${text.slice(0, 120)} as ${type}`);
          expect(res.status).not.to.equal(201);
          if (res.status !== 200) expect(JSON.stringify((await resourcesOf()).find((r) => r.id === resourceId))).to.equal(stored);
          else patched += 1;
        }),
        { numRuns: RUNS },
      );
      expect(patched, 'some random bodies are valid changes').to.be.greaterThan(0);
    });
  });

  describe('the hosted login', () => {
    let browser: Browser;
    let uid: string;
    let emailCsrf: string;
    let ip = 0;
    const base = () => `/apps/${app.app_id}/interaction/${uid}`;
    /** A fresh client address per request keeps the per-IP link limit out of the way. */
    const nextIp = () => `10.${(++ip >> 16) & 255}.${(ip >> 8) & 255}.${ip & 255}`;

    before(async () => {
      app = await h.createApp(); // the admin fuzzing above may have changed the first one
      browser = new Browser();
      const login = await h.startLogin(app, browser);
      uid = uidOf(login.page.url);
      emailCsrf = csrfOf(login.page.body, '/email');
    });

    function checkPage(res: RawReply, label: string) {
      expect(res.status, `${label}: ${res.body.slice(0, 300)}`).to.be.within(200, 499);
      expectNoLeak(res.body, label);
      expect(res.body, `${label}: reflected markup`).not.to.match(/<x-fuzz/);
      if (String(res.headers['content-type']).startsWith('text/html')) {
        expect(String(res.headers['content-security-policy']), label).to.include("frame-ancestors 'none'");
      }
    }

    it('POST /email with random email and csrf values: never a 5xx, and mail only for a valid address with the right token', async () => {
      const email = fc.oneof({ weight: 3, arbitrary: hostileString }, { weight: 1, arbitrary: fc.emailAddress() });
      const mailsBefore = h.smtp.mails.length;
      const csrf = fc.oneof({ weight: 3, arbitrary: fc.constant('valid') }, { weight: 1, arbitrary: hostileString }, { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
      await fc.assert(
        fc.asyncProperty(email, csrf, async (value, token) => {
          const sent = h.smtp.mails.length;
          const form = new URLSearchParams({ csrf: token === 'valid' ? emailCsrf : token, email: value }).toString();
          const res = await raw(h.url, `${base()}/email`, {
            method: 'POST',
            headers: { cookie: browser.cookieHeader(`${h.url}${base()}/email`), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': nextIp() },
            body: form,
          });
          const label = `email=${JSON.stringify(value.slice(0, 80))} csrf=${JSON.stringify(token.slice(0, 20))}`;
          checkPage(res, label);
          const valid = token === 'valid' && normalizeEmail(value).ok;
          if (form.length > 64 * 1024) expect(res.status, label).to.equal(413);
          else if (token !== 'valid') expect(res.status, label).to.equal(403);
          else expect(res.status, label).to.equal(valid ? 200 : 400);
          await h.server.mailQueue.idle();
          const mails = h.smtp.mails.slice(sent);
          if (!valid) expect(mails, `${label}: mail sent`).to.deep.equal([]);
          for (const mail of mails) expect(mail.to, label).to.equal((normalizeEmail(value) as { email: string }).email);
        }),
        { numRuns: RUNS },
      );
      expect(h.smtp.mails.length - mailsBefore, 'valid requests did send mail').to.be.greaterThan(0);
    });

    it('POST /email with random raw form bodies: never a 5xx, never mail', async () => {
      await fc.assert(
        fc.asyncProperty(hostileString, fc.boolean(), async (text, withCsrf) => {
          const sent = h.smtp.mails.length;
          const bodyText = `${withCsrf ? `csrf=${emailCsrf}&` : ''}email=${looseQueryValue(text)}`;
          const res = await raw(h.url, `${base()}/email`, {
            method: 'POST',
            headers: { cookie: browser.cookieHeader(`${h.url}${base()}/email`), accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': nextIp() },
            body: bodyText,
          });
          const label = `raw body ${JSON.stringify(bodyText.slice(0, 100))}`;
          checkPage(res, label);
          await h.server.mailQueue.idle();
          let decoded: string | undefined;
          try {
            decoded = decodeURIComponent(looseQueryValue(text).replace(/\+/g, ' '));
          } catch {
            decoded = undefined;
          }
          if (!withCsrf || decoded === undefined || !normalizeEmail(decoded).ok) {
            expect(res.status, label).to.be.within(400, 499);
            expect(h.smtp.mails.length, `${label}: mail sent`).to.equal(sent);
          }
        }),
        { numRuns: RUNS },
      );
    });

    it('GET and POST /link with random codes: never a 5xx, never signed in, never mail', async () => {
      const code = fc.oneof(hostileString.map((x) => x.slice(0, 12_000)), fc.base64String({ minLength: 40, maxLength: 52 }), fc.stringMatching(/^[A-Za-z0-9_-]{43}$/));
      await fc.assert(
        fc.asyncProperty(code, fc.boolean(), fc.oneof(fc.constant(emailCsrf), hostileString), async (value, sameBrowser, csrf) => {
          const sent = h.smtp.mails.length;
          const cookie = sameBrowser ? { cookie: browser.cookieHeader(`${h.url}${base()}/link`) } : {};
          const label = `code=${JSON.stringify(value.slice(0, 80))}`;
          const target = `${base()}/link?code=${looseQueryValue(value)}`;
          const get = await raw(h.url, target, { headers: { ...cookie, accept: 'text/html' } });
          checkPage(get, `GET ${label}`);
          expect(get.status, `GET ${label}`).to.be.within(400, 499);
          if (target.length > 8 * 1024) expect(get.status, `GET ${label}`).to.equal(414);
          const post = await raw(h.url, `${base()}/link`, {
            method: 'POST',
            headers: { ...cookie, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({ code: value, csrf }).toString(),
          });
          checkPage(post, `POST ${label}`);
          expect(post.status, `POST ${label}`).to.be.within(400, 499);
          expect(post.headers.location, `POST ${label}`).to.equal(undefined);
          await h.server.mailQueue.idle();
          expect(h.smtp.mails.length, `${label}: mail sent`).to.equal(sent);
        }),
        { numRuns: RUNS },
      );
    });
  });
});
