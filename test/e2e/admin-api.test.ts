// The admin API (/admin, Bearer ADMIN_TOKEN, JSON) against a real server: authentication,
// creation and its defaults, validation that names the field and stores nothing, changes
// that take effect at once, deletion that ends the issuer, and no secret ever on the wire
// except a client secret, once, at creation.
import { allApps } from '../helpers/all-apps.ts';
import { expect } from 'chai';
import { request } from 'node:http';
import { decodeJwt } from 'jose';
import { Browser } from '../helpers/browser.ts';
import { ADMIN_TOKEN, Harness, REDIRECT_URI, type AppJson } from '../helpers/harness.ts';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const UNKNOWN_ID = '5d0c1f7e-3b2a-4c9d-8e7f-0a1b2c3d4e5f';
const SEALED = /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
const PRIVATE_MEMBERS = new Set(['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k', 'privateJwk', 'encryptedPrivateJwk', 'encryptedClientSecret']);

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

interface CallOptions {
  /** An object is sent as JSON; a string or bytes are sent as is. */
  body?: unknown;
  /** The whole Authorization header; null sends none. Default: Bearer ADMIN_TOKEN. */
  authorization?: string | null;
  contentType?: string | null;
}

describe('admin API', () => {
  const h = new Harness();
  /** Every admin response body this file has seen, with where it came from. */
  const seen: { label: string; status: number; text: string }[] = [];
  const secretsIssued: string[] = [];

  // These tests send hundreds of wrong tokens from one address on purpose; the per-IP
  // lockout itself is tested in test/security/abuse-limits.test.ts.
  before(() => h.start({}, { adminAuthFailuresPerIp: 100_000 }));
  after(() => h.stop());

  async function call(method: string, path: string, opts: CallOptions = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    const authorization = opts.authorization === undefined ? `Bearer ${ADMIN_TOKEN}` : opts.authorization;
    if (authorization !== null) headers.authorization = authorization;
    let body: string | Uint8Array | undefined;
    if (opts.body !== undefined) {
      body = typeof opts.body === 'string' || opts.body instanceof Uint8Array ? opts.body : JSON.stringify(opts.body);
      const contentType = opts.contentType === undefined ? 'application/json' : opts.contentType;
      if (contentType !== null) headers['content-type'] = contentType;
      // fetch labels a string body text/plain by itself; bytes go without a Content-Type.
      else if (typeof body === 'string') body = new TextEncoder().encode(body);
    }
    const res = await fetch(`${h.url}${path}`, { method, headers, body });
    const text = await res.text();
    seen.push({ label: `${method} ${path} → ${res.status}`, status: res.status, text });
    let json: unknown;
    if (text) {
      expect(res.headers.get('content-type'), `${method} ${path}`).to.match(/^application\/json/);
      json = JSON.parse(text);
    }
    return { status: res.status, headers: res.headers, text, body: json };
  }

  const create = (body: unknown, opts: CallOptions = {}) => call('POST', '/admin/apps', { ...opts, body });

  async function createOk(overrides: Record<string, unknown> = {}): Promise<AppJson> {
    const res = await create({ name: 'Admin Test App', redirect_uris: [REDIRECT_URI], ...overrides });
    expect(res.status, res.text).to.equal(201);
    if (typeof res.body.client_secret === 'string') secretsIssued.push(res.body.client_secret);
    return res.body as AppJson;
  }

  /** Every app as GET /admin/apps lists them, following next_cursor page by page. */
  async function listAll(limit: number): Promise<AppJson[]> {
    const all: AppJson[] = [];
    let cursor: string | null = null;
    do {
      const res = await call('GET', `/admin/apps?limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(res.status, res.text).to.equal(200);
      all.push(...(res.body.apps as AppJson[]));
      cursor = res.body.next_cursor as string | null;
    } while (cursor !== null);
    return all;
  }

  async function appCount(): Promise<number> {
    return (await listAll(500)).length;
  }

  function expectError(res: Reply, status: number, error: string, mentions?: string | RegExp) {
    expect(res.status, res.text).to.equal(status);
    expect(res.body).to.be.an('object');
    expect(Object.keys(res.body).sort()).to.deep.equal(['error', 'error_description']);
    expect(res.body.error).to.equal(error);
    expect(res.body.error_description).to.be.a('string').and.not.equal('');
    if (typeof mentions === 'string') expect(res.body.error_description).to.include(mentions);
    else if (mentions) expect(res.body.error_description).to.match(mentions);
    expect(res.headers.get('cache-control')).to.equal('no-store');
  }

  /** Sends a bad create, expects the error, and checks nothing was stored. */
  async function rejectedCreate(body: unknown, status: number, error: string, mentions?: string | RegExp, opts: CallOptions = {}) {
    const before = await appCount();
    const res = await create(body, opts);
    expectError(res, status, error, mentions);
    expect(await appCount(), 'a rejected create must leave no app behind').to.equal(before);
    return res;
  }

  const valid = (extra: Record<string, unknown> = {}) => ({ name: 'Valid', redirect_uris: ['https://app.example.com/callback'], ...extra });

  describe('authentication', () => {
    let app: AppJson;
    before(async () => {
      app = await createOk();
    });

    const routes = (): [string, string, unknown?][] => [
      ['GET', '/admin/apps'],
      ['POST', '/admin/apps', valid()],
      ['GET', `/admin/apps/${app.app_id}`],
      ['PATCH', `/admin/apps/${app.app_id}`, { name: 'Hijacked' }],
      ['DELETE', `/admin/apps/${app.app_id}`],
      ['GET', `/admin/apps/${UNKNOWN_ID}`],
    ];

    function expect401(res: Reply) {
      expectError(res, 401, 'invalid_token', 'Authorization: Bearer');
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer realm="[^"]+"/);
    }

    for (const [label, authorization] of [
      ['no Authorization header', null],
      ['a wrong token', 'Bearer wrong-token-0123456789abcdef0123456789abcdef'],
      ['the right token with one character changed', `Bearer ${ADMIN_TOKEN.slice(0, -1)}X`],
      ['a prefix of the right token', `Bearer ${ADMIN_TOKEN.slice(0, 10)}`],
      ['the right token with a suffix', `Bearer ${ADMIN_TOKEN}x`],
      ['the Basic scheme', `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`],
      ['the bare token without a scheme', ADMIN_TOKEN],
      ['"Bearer" without a token', 'Bearer'],
      ['two tokens', `Bearer ${ADMIN_TOKEN} ${ADMIN_TOKEN}`],
      ['two spaces after Bearer', `Bearer  ${ADMIN_TOKEN}`],
    ] as const) {
      it(`answers 401 with JSON and WWW-Authenticate for ${label}, on every route`, async () => {
        const before = await appCount();
        for (const [method, path, body] of routes()) {
          const res = await call(method, path, { authorization, body });
          expect401(res);
        }
        expect(await appCount()).to.equal(before);
        const still = await call('GET', `/admin/apps/${app.app_id}`);
        expect(still.status).to.equal(200);
        expect(still.body.name).to.equal('Admin Test App');
      });
    }

    it('checks the token before reading the body (401, not 400 or 415)', async () => {
      expect401(await create('{not json', { authorization: null }));
      expect401(await create('name=x', { authorization: 'Bearer nope', contentType: 'text/plain' }));
      expect401(await call('POST', '/admin/apps', { authorization: null, body: 'x'.repeat(70 * 1024) }));
    });

    it('accepts the right token', async () => {
      const res = await call('GET', '/admin/apps');
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
    });
  });

  describe('POST /admin/apps', () => {
    it('creates a public client with defaults and answers 201', async () => {
      const before = Date.now();
      const res = await create({ name: '  Acme Notes  ', redirect_uris: [REDIRECT_URI] });
      expect(res.status, res.text).to.equal(201);
      const app = res.body;
      expect(app.app_id).to.match(UUID_V4);
      expect(app.client_id).to.equal(app.app_id);
      expect(app.issuer).to.equal(`${h.url}/apps/${app.app_id}`);
      expect(app.discovery_url).to.equal(`${app.issuer}/.well-known/openid-configuration`);
      expect(res.headers.get('location')).to.equal(`/admin/apps/${app.app_id}`);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(app.name).to.equal('Acme Notes');
      expect(app.redirect_uris).to.deep.equal([REDIRECT_URI]);
      expect(app.post_logout_redirect_uris).to.deep.equal([]);
      // Only URIs registered before today's rule are flagged (test/security/redirect-uris.test.ts).
      expect(app.warnings).to.deep.equal([]);
      expect(app.token_endpoint_auth_method).to.equal('none');
      expect(app).to.include({ id_token_ttl: 1800, magic_link_ttl: 900, refresh_token_idle_ttl: 604800, refresh_token_max_ttl: 7776000 });
      expect(app).not.to.have.property('client_secret');
      expect(app).not.to.have.property('client_secret_expires_at');
      // A current key for the one algorithm it signs with (ES512 by default), and the next
      // one already published (key rotation); no RSA key until a client signs with RS256.
      expect(app.keys).to.have.length(2);
      expect(app.keys.map((k: { alg: string; status: string }) => `${k.alg} ${k.status}`).sort()).to.deep.equal(['ES512 current', 'ES512 next']);
      for (const key of app.keys) {
        const fields = key.status === 'current' ? ['activated_at', 'alg', 'created_at', 'kid', 'status'] : ['alg', 'created_at', 'kid', 'status'];
        expect(Object.keys(key).sort()).to.deep.equal(fields);
        expect(key.kid).to.match(UUID_V4);
      }
      expect(Date.parse(app.created_at)).to.be.within(before - 1000, Date.now() + 1000);
      expect(app.updated_at).to.equal(app.created_at);
    });

    it('gives each app its own id, issuer and keys', async () => {
      const a = await createOk();
      const b = await createOk();
      expect(a.app_id).not.to.equal(b.app_id);
      expect(a.issuer).not.to.equal(b.issuer);
      const kids = (app: AppJson) => (app.keys as { kid: string }[]).map((k) => k.kid);
      expect(kids(a)).not.to.include.members(kids(b));
    });

    it('serves discovery for the new issuer at once', async () => {
      const app = await createOk();
      const res = await fetch(app.discovery_url as string);
      expect(res.status).to.equal(200);
      const meta = (await res.json()) as { issuer: string };
      expect(meta.issuer).to.equal(app.issuer);
    });

    it('accepts settings within range, including the bounds', async () => {
      const app = await createOk({ id_token_ttl: 60, magic_link_ttl: 86400, refresh_token_idle_ttl: 60, refresh_token_max_ttl: 31536000 });
      expect(app).to.include({ id_token_ttl: 60, magic_link_ttl: 86400, refresh_token_idle_ttl: 60, refresh_token_max_ttl: 31536000 });
      const top = await createOk({ id_token_ttl: 86400, magic_link_ttl: 60, refresh_token_idle_ttl: 3600, refresh_token_max_ttl: 3600 });
      expect(top).to.include({ id_token_ttl: 86400, magic_link_ttl: 60, refresh_token_idle_ttl: 3600, refresh_token_max_ttl: 3600 });
    });

    it('accepts a name of exactly 100 characters', async () => {
      const app = await createOk({ name: 'n'.repeat(100) });
      expect(app.name).to.equal('n'.repeat(100));
    });

    for (const uri of [
      'https://app.example.com/callback',
      'https://app.example.com/callback?tenant=1',
      'http://localhost:8080/callback',
      'http://localhost/callback',
      'http://127.0.0.1:5000/cb',
      'http://[::1]:8080/cb',
      'com.example.app:/cb',
      'com.example.app:/oauth2redirect/example-provider',
    ]) {
      it(`accepts the redirect URI ${uri}`, async () => {
        const app = await createOk({ redirect_uris: [uri] });
        expect(app.redirect_uris).to.deep.equal([uri]);
      });
    }

    it('accepts several redirect URIs and drops exact duplicates', async () => {
      const app = await createOk({ redirect_uris: ['https://a.example.com/cb', 'http://localhost:3001/cb', 'https://a.example.com/cb'] });
      expect(app.redirect_uris).to.deep.equal(['https://a.example.com/cb', 'http://localhost:3001/cb']);
    });

    it('accepts post_logout_redirect_uris', async () => {
      const app = await createOk({ post_logout_redirect_uris: ['https://app.example.com/bye'] });
      expect(app.post_logout_redirect_uris).to.deep.equal(['https://app.example.com/bye']);
    });

    it('lets a public client sign a person in', async () => {
      const app = await createOk({ name: 'Public Sign-in' });
      const { tokens } = await h.signIn(app, 'public@example.com');
      expect(decodeJwt(tokens.id_token!).aud).to.equal(app.client_id);
    });
  });

  describe('confidential clients', () => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      it(`returns the ${method} client_secret once at creation and never again`, async () => {
        const res = await create(valid({ name: `Confidential ${method}`, redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: method }));
        expect(res.status, res.text).to.equal(201);
        const app = res.body as AppJson;
        expect(app.token_endpoint_auth_method).to.equal(method);
        expect(app.client_secret).to.be.a('string').with.length.of.at.least(32);
        expect(app.client_secret).to.match(/^[A-Za-z0-9_-]+$/);
        expect(app.client_secret_expires_at).to.equal(0);
        const secret = app.client_secret!;
        secretsIssued.push(secret);

        const got = await call('GET', `/admin/apps/${app.app_id}`);
        expect(got.status).to.equal(200);
        expect(got.body).not.to.have.property('client_secret');
        expect(got.body).not.to.have.property('client_secret_expires_at');
        expect(got.text).not.to.include(secret);

        const list = await call('GET', '/admin/apps');
        const listed = (list.body.apps as Record<string, unknown>[]).find((a) => a.app_id === app.app_id);
        expect(listed).to.be.an('object');
        expect(listed).not.to.have.property('client_secret');
        expect(list.text).not.to.include(secret);

        const patched = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { name: `Renamed ${method}` } });
        expect(patched.status).to.equal(200);
        expect(patched.body).not.to.have.property('client_secret');
        expect(patched.text).not.to.include(secret);
        expect(patched.body.token_endpoint_auth_method).to.equal(method);

        // The secret shown once is the one the token endpoint checks.
        const { tokens } = await h.signIn({ ...app, client_secret: secret }, `${method}@example.com`);
        expect(decodeJwt(tokens.id_token!).sub).to.equal(`${method}@example.com`);
      });
    }

    it('gives every confidential client a different secret', async () => {
      const a = await createOk({ token_endpoint_auth_method: 'client_secret_basic' });
      const b = await createOk({ token_endpoint_auth_method: 'client_secret_basic' });
      expect(a.client_secret).not.to.equal(b.client_secret);
    });
  });

  describe('validation of POST /admin/apps', () => {
    it('rejects a body that is not valid JSON', async () => {
      await rejectedCreate('{"name": "x", ', 400, 'invalid_request', /JSON/);
      await rejectedCreate('', 400, 'invalid_request', /JSON/);
    });

    it('rejects a body that is not valid UTF-8', async () => {
      await rejectedCreate(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]), 400, 'invalid_request', /UTF-8/);
    });

    for (const body of ['[]', '"a string"', '42', 'null', 'true', JSON.stringify([valid()])]) {
      it(`rejects the non-object JSON body ${body.slice(0, 30)}`, async () => {
        await rejectedCreate(body, 400, 'invalid_request', /object/);
      });
    }

    for (const contentType of [null, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'text/json-ish']) {
      it(`answers 415 for content type ${String(contentType)}`, async () => {
        await rejectedCreate(JSON.stringify(valid()), 415, 'invalid_request', /application\/json/, { contentType });
      });
    }

    it('accepts application/json with a charset parameter', async () => {
      const res = await create(valid(), { contentType: 'application/json; charset=utf-8' });
      expect(res.status, res.text).to.equal(201);
    });

    for (const field of ['client_secret', 'app_id', 'client_id', 'keys', 'issuer', 'grant_types', '__proto__x']) {
      it(`rejects the unknown field ${field}, naming it`, async () => {
        await rejectedCreate(valid({ [field]: 'x' }), 400, 'invalid_request', `"${field}"`);
      });
    }

    it('rejects a __proto__ member rather than ignoring it', async () => {
      await rejectedCreate('{"name":"x","redirect_uris":["https://a.example.com/cb"],"__proto__":{"admin":true}}', 400, 'invalid_request', '__proto__');
    });

    for (const [label, name] of [
      ['missing', undefined],
      ['empty', ''],
      ['only spaces', '    '],
      ['101 characters', 'n'.repeat(101)],
      ['a number', 42],
      ['null', null],
      ['an array', ['Acme']],
      ['an object', { en: 'Acme' }],
      ['a control character', 'Acme\u0007'],
      ['a newline', 'Acme\nEvil'],
      ['a bidi override', 'Acme\u202Eevil'],
    ] as const) {
      it(`rejects a name that is ${label}, naming "name"`, async () => {
        const body: Record<string, unknown> = valid();
        if (name === undefined) delete body.name;
        else body.name = name;
        await rejectedCreate(body, 400, 'invalid_request', 'name');
      });
    }

    for (const [label, uris, mentions] of [
      ['missing', undefined, 'redirect_uris'],
      ['empty', [], 'redirect_uris'],
      ['a string, not an array', 'https://app.example.com/cb', 'redirect_uris'],
      ['an object', { 0: 'https://app.example.com/cb' }, 'redirect_uris'],
      ['null', null, 'redirect_uris'],
      ['a relative path', ['/callback'], 'redirect_uris[0]'],
      ['a scheme-relative URL', ['//app.example.com/callback'], 'redirect_uris[0]'],
      ['with a fragment', ['https://app.example.com/cb#frag'], 'redirect_uris[0]'],
      ['with an empty fragment', ['https://app.example.com/cb#'], 'redirect_uris[0]'],
      ['http on a public host', ['http://app.example.com/cb'], 'redirect_uris[0]'],
      ['http on a host that starts with localhost', ['http://localhost.evil.example/cb'], 'redirect_uris[0]'],
      ['http on a private IP', ['http://192.168.1.10/cb'], 'redirect_uris[0]'],
      ['javascript:', ['javascript:alert(1)'], 'redirect_uris[0]'],
      ['data:', ['data:text/html,<script>alert(1)</script>'], 'redirect_uris[0]'],
      ['file:', ['file:///etc/passwd'], 'redirect_uris[0]'],
      ['a custom scheme that is not a reverse domain name', ['myapp:/callback'], 'redirect_uris[0]'],
      ['an operating-system protocol handler', ['ms-msdt:id'], 'redirect_uris[0]'],
      ['a wildcard', ['https://*.example.com/cb'], 'redirect_uris[0]'],
      ['with credentials', ['https://user:pass@app.example.com/cb'], 'redirect_uris[0]'],
      ['an empty string', [''], 'redirect_uris[0]'],
      ['a number', [42], 'redirect_uris[0]'],
      ['a bad second entry', ['https://app.example.com/cb', 'http://evil.example/cb'], 'redirect_uris[1]'],
      ['longer than 2000 characters', [`https://app.example.com/${'a'.repeat(2000)}`], 'redirect_uris[0]'],
      ['more than 20 URIs', Array.from({ length: 21 }, (_, i) => `https://app.example.com/cb${i}`), 'redirect_uris'],
    ] as const) {
      it(`rejects redirect_uris ${label} with invalid_redirect_uri, naming the field`, async () => {
        const body: Record<string, unknown> = valid();
        if (uris === undefined) delete body.redirect_uris;
        else body.redirect_uris = uris;
        await rejectedCreate(body, 400, 'invalid_redirect_uri', mentions);
      });
    }

    it('rejects bad post_logout_redirect_uris with invalid_redirect_uri, naming the field', async () => {
      await rejectedCreate(valid({ post_logout_redirect_uris: ['javascript:alert(1)'] }), 400, 'invalid_redirect_uri', 'post_logout_redirect_uris[0]');
      await rejectedCreate(valid({ post_logout_redirect_uris: 'https://a.example.com/' }), 400, 'invalid_redirect_uri', 'post_logout_redirect_uris');
    });

    for (const field of ['id_token_ttl', 'magic_link_ttl', 'refresh_token_idle_ttl', 'refresh_token_max_ttl']) {
      for (const [label, value] of [
        ['a numeric string', '1800'],
        ['a float', 1800.5],
        ['null', null],
        ['a boolean', true],
        ['59 (below the minimum)', 59],
        ['zero', 0],
        ['negative', -1800],
      ] as const) {
        it(`rejects ${field} as ${label}, naming it`, async () => {
          await rejectedCreate(valid({ [field]: value }), 400, 'invalid_request', field);
        });
      }
    }

    it('rejects id_token_ttl and magic_link_ttl above 86400, naming them', async () => {
      await rejectedCreate(valid({ id_token_ttl: 86401 }), 400, 'invalid_request', 'id_token_ttl');
      await rejectedCreate(valid({ magic_link_ttl: 86401 }), 400, 'invalid_request', 'magic_link_ttl');
    });

    it('rejects refresh token lifetimes above one year, naming them', async () => {
      await rejectedCreate(valid({ refresh_token_max_ttl: 31536001 }), 400, 'invalid_request', 'refresh_token_max_ttl');
      await rejectedCreate(valid({ refresh_token_idle_ttl: 31536001 }), 400, 'invalid_request', 'refresh_token_idle_ttl');
    });

    it('rejects refresh_token_idle_ttl greater than refresh_token_max_ttl', async () => {
      const res = await rejectedCreate(valid({ refresh_token_idle_ttl: 7200, refresh_token_max_ttl: 3600 }), 400, 'invalid_request', 'refresh_token_idle_ttl');
      expect(res.body.error_description).to.include('refresh_token_max_ttl');
      // The default idle lifetime (7 days) does not fit under a 1-hour maximum either.
      await rejectedCreate(valid({ refresh_token_max_ttl: 3600 }), 400, 'invalid_request', 'refresh_token_max_ttl');
    });

    for (const method of ['private_key_jwt', 'client_secret_jwt', 'tls_client_auth', 'NONE', '', 42]) {
      it(`rejects token_endpoint_auth_method ${JSON.stringify(method)}, naming it`, async () => {
        await rejectedCreate(valid({ token_endpoint_auth_method: method }), 400, 'invalid_request', 'token_endpoint_auth_method');
      });
    }

    it('answers 413 for a body over 64 KiB with a Content-Length, and stores nothing', async () => {
      const body = JSON.stringify(valid({ name: 'x'.repeat(65 * 1024) }));
      await rejectedCreate(body, 413, 'request_too_large');
    });

    it('answers 413 for a chunked body that grows over 64 KiB, and stores nothing', async () => {
      const before = await appCount();
      const res = await new Promise<{ status: number; body: string; headers: Record<string, unknown> }>((resolve, reject) => {
        const req = request(
          `${h.url}/admin/apps`,
          {
            method: 'POST',
            agent: false,
            headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
          },
        );
        req.on('error', reject);
        let written = 0;
        const pump = () => {
          while (written < 20) {
            written++;
            if (!req.write(' '.repeat(8192))) return void req.once('drain', pump);
          }
          req.end(JSON.stringify(valid()));
        };
        pump();
      });
      expect(res.status).to.equal(413);
      expect(JSON.parse(res.body)).to.deep.include({ error: 'request_too_large' });
      expect(await appCount()).to.equal(before);
    });

    it('reads a body just under 64 KiB (the limit is not lower than documented)', async () => {
      const body = JSON.stringify(valid({ padding: 'x'.repeat(60 * 1024) }));
      expect(Buffer.byteLength(body)).to.be.below(64 * 1024);
      // Parsed in full: the error is about the unknown field, not the size.
      await rejectedCreate(body, 400, 'invalid_request', '"padding"');
    });
  });

  describe('GET /admin/apps and /admin/apps/{id}', () => {
    it('pages through every app with limit and cursor: each once, oldest first, the last page with next_cursor null', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await createOk({ name: `Paged ${i}` })).app_id);
      const byTwo = (await listAll(2)).map((a) => a.app_id);
      expect(byTwo).to.deep.equal((await listAll(500)).map((a) => a.app_id));
      expect(new Set(byTwo).size).to.equal(byTwo.length);
      expect(byTwo.filter((id) => made.includes(id))).to.deep.equal(made);
      const first = await call('GET', '/admin/apps?limit=1');
      expect(first.body.apps).to.have.length(1);
      expect(first.body.next_cursor).to.be.a('string');
      // A parameter's name percent-encoded is the same parameter.
      const encoded = await call('GET', '/admin/apps?%6Cimit=1');
      expect(encoded.status).to.equal(200);
      expect(encoded.body).to.deep.equal(first.body);
      const last = await call('GET', `/admin/apps?limit=500&cursor=${first.body.next_cursor}`);
      expect(last.body.next_cursor).to.equal(null);
      expect((last.body.apps as AppJson[]).map((a) => a.app_id)).to.deep.equal(byTwo.slice(1));
    });

    it('refuses a bad limit or cursor, and an unknown or repeated parameter, with a 400', async () => {
      const forged = (text: string) => Buffer.from(text).toString('base64url');
      for (const query of [
        'limit=0', 'limit=501', 'limit=1.5', 'limit=-1', 'limit=abc', 'limit=1e2', 'limit=%201', 'limit=0x10',
        'cursor=not-a-cursor!', `cursor=${forged('{"at":1,"id":"x"}')}`, `cursor=${forged(`0000000000000001:${'a'.repeat(36)}`)}`,
        `cursor=${'A'.repeat(4000)}`, `cursor=${forged('0000000000000001:00000000-0000-0000-0000-000000000000\n')}`,
        'LIMIT=5', 'Cursor=x', 'offset=10', 'limit=1&limit=2', 'cursor=a&cursor=b',
      ]) {
        expectError(await call('GET', `/admin/apps?${query}`), 400, 'invalid_request');
      }
    });

    it('lists created apps, oldest first, in the same shape as GET by id', async () => {
      const a = await createOk({ name: 'List A' });
      const b = await createOk({ name: 'List B' });
      const res = await call('GET', '/admin/apps');
      expect(res.status).to.equal(200);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      const apps = res.body.apps as AppJson[];
      const ia = apps.findIndex((x) => x.app_id === a.app_id);
      const ib = apps.findIndex((x) => x.app_id === b.app_id);
      expect(ia).to.be.at.least(0);
      expect(ib).to.be.above(ia);
      const single = await call('GET', `/admin/apps/${b.app_id}`);
      expect(single.status).to.equal(200);
      expect(apps[ib]).to.deep.equal(single.body);
      const { client_secret: _s, client_secret_expires_at: _e, ...created } = b;
      expect(single.body).to.deep.equal(created);
    });

    it('answers 404 with JSON for an unknown UUID', async () => {
      expectError(await call('GET', `/admin/apps/${UNKNOWN_ID}`), 404, 'not_found');
    });

    for (const id of ['not-a-uuid', '123', UNKNOWN_ID.toUpperCase(), `${UNKNOWN_ID}x`, '..%2F..%2Fetc', "x'%20OR%201=1"]) {
      it(`answers 404 with JSON for the malformed id ${id}`, async () => {
        expectError(await call('GET', `/admin/apps/${id}`), 404, 'not_found');
        expectError(await call('PATCH', `/admin/apps/${id}`, { body: { name: 'x' } }), 404, 'not_found');
        expectError(await call('DELETE', `/admin/apps/${id}`), 404, 'not_found');
      });
    }
  });

  describe('unsupported methods and paths', () => {
    for (const [method, path] of [
      ['PUT', '/admin/apps'],
      ['DELETE', '/admin/apps'],
      ['PATCH', '/admin/apps'],
      ['POST', `/admin/apps/${UNKNOWN_ID}`],
      ['PUT', `/admin/apps/${UNKNOWN_ID}`],
    ] as const) {
      it(`answers 405 with JSON for ${method} ${path.replace(UNKNOWN_ID, '{id}')}, and stores nothing`, async () => {
        const before = await appCount();
        const res = await call(method, path, { body: valid() });
        expectError(res, 405, 'invalid_request', /not allowed/i);
        expect(await appCount()).to.equal(before);
      });
    }

    it('answers 404 with JSON for an unknown path under /admin', async () => {
      const res = await call('GET', '/admin/nothing-here');
      expect(res.status).to.equal(404);
      expect(res.body).to.deep.include({ error: 'not_found' });
    });
  });

  describe('PATCH /admin/apps/{id}', () => {
    it('renames the app; the login page shows the new name at once', async () => {
      const app = await createOk({ name: 'Old Name Inc' });
      const first = await h.startLogin(app, new Browser());
      expect(first.page.body).to.include('Old Name Inc');

      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { name: 'New Name Ltd' } });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.name).to.equal('New Name Ltd');
      expect(Date.parse(res.body.updated_at)).to.be.at.least(Date.parse(res.body.created_at));
      expect((await call('GET', `/admin/apps/${app.app_id}`)).body.name).to.equal('New Name Ltd');

      const second = await h.startLogin(app, new Browser());
      expect(second.page.status).to.equal(200);
      expect(second.page.body).to.include('New Name Ltd');
      expect(second.page.body).not.to.include('Old Name Inc');
    });

    it('changes redirect_uris at once: the new URI works, the old one is refused', async () => {
      const app = await createOk({ name: 'Redirect Change' });
      expect((await h.startLogin(app, new Browser())).page.body).to.include('name="email"');

      const next = 'http://localhost:9090/new-callback';
      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { redirect_uris: [next] } });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.redirect_uris).to.deep.equal([next]);

      const ok = await h.startLogin(app, new Browser(), { redirectUri: next });
      expect(ok.page.status).to.equal(200);
      expect(ok.page.body).to.include('name="email"');

      const old = await h.startLogin(app, new Browser(), { redirectUri: REDIRECT_URI });
      expect(old.page.status).to.equal(400);
      expect(old.page.url.startsWith(REDIRECT_URI), 'never redirected to the removed URI').to.equal(false);
      expect(old.page.body).not.to.include('name="email"');
    });

    it('changes id_token_ttl at once: the next ID token lives for the new value', async () => {
      const app = await createOk({ name: 'TTL Change' });
      const before = await h.signIn(app, 'ttl@example.com');
      const b = decodeJwt(before.tokens.id_token!);
      expect(b.exp! - b.iat!).to.equal(1800);

      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { id_token_ttl: 600 } });
      expect(res.status, res.text).to.equal(200);
      expect(res.body.id_token_ttl).to.equal(600);
      expect(res.body).to.include({ magic_link_ttl: 900, refresh_token_idle_ttl: 604800, refresh_token_max_ttl: 7776000 });

      const after = await h.signIn(app, 'ttl@example.com');
      const a = decodeJwt(after.tokens.id_token!);
      expect(a.exp! - a.iat!).to.equal(600);
    });

    it('changes magic_link_ttl at once: the next mail states the new lifetime', async () => {
      const app = await createOk({ name: 'Link TTL Change' });
      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { magic_link_ttl: 120 } });
      expect(res.status, res.text).to.equal(200);
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { mail, page } = await h.requestLink(browser, login.page, 'linkttl@example.com');
      expect(mail.text).to.include('valid for 2 minutes');
      expect(page.body).to.include('for 2 minutes');
    });

    it('leaves fields that are not sent unchanged', async () => {
      const app = await createOk({ name: 'Partial', id_token_ttl: 900, post_logout_redirect_uris: ['https://app.example.com/bye'] });
      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { magic_link_ttl: 300 } });
      expect(res.status).to.equal(200);
      expect(res.body).to.include({ name: 'Partial', id_token_ttl: 900, magic_link_ttl: 300 });
      expect(res.body.redirect_uris).to.deep.equal([REDIRECT_URI]);
      expect(res.body.post_logout_redirect_uris).to.deep.equal(['https://app.example.com/bye']);
      expect(res.body.keys).to.deep.equal(app.keys);
      expect(res.body.app_id).to.equal(app.app_id);
      expect(res.body.issuer).to.equal(app.issuer);
      expect(res.body.created_at).to.equal(app.created_at);
    });

    it('refuses to change token_endpoint_auth_method (400, named) and leaves the app unchanged', async () => {
      const app = await createOk({ name: 'Fixed Method' });
      const before = await call('GET', `/admin/apps/${app.app_id}`);
      for (const method of ['client_secret_basic', 'none']) {
        const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: { token_endpoint_auth_method: method } });
        expectError(res, 400, 'invalid_request', 'token_endpoint_auth_method');
      }
      expect((await call('GET', `/admin/apps/${app.app_id}`)).body).to.deep.equal(before.body);
    });

    for (const [label, body, status, error, mentions] of [
      ['an empty name', { name: '' }, 400, 'invalid_request', 'name'],
      ['a valid name with an out-of-range TTL', { name: 'Should Not Stick', id_token_ttl: 10 }, 400, 'invalid_request', 'id_token_ttl'],
      ['a valid TTL with a bad redirect URI', { id_token_ttl: 120, redirect_uris: ['http://evil.example/cb'] }, 400, 'invalid_redirect_uri', 'redirect_uris[0]'],
      ['empty redirect_uris', { redirect_uris: [] }, 400, 'invalid_redirect_uri', 'redirect_uris'],
      ['an unknown field', { name: 'X', client_secret: 'mine' }, 400, 'invalid_request', '"client_secret"'],
      ['a max refresh lifetime below the current idle lifetime', { refresh_token_max_ttl: 3600 }, 400, 'invalid_request', 'refresh_token'],
      ['a string TTL', { magic_link_ttl: '600' }, 400, 'invalid_request', 'magic_link_ttl'],
      ['a JSON array', [{ name: 'X' }], 400, 'invalid_request', 'object'],
      ['invalid JSON', '{"name":', 400, 'invalid_request', 'JSON'],
    ] as const) {
      it(`rejects ${label} and leaves the app unchanged`, async () => {
        const app = await createOk({ name: 'Unchanged' });
        const before = await call('GET', `/admin/apps/${app.app_id}`);
        const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body });
        expectError(res, status, error, mentions);
        const after = await call('GET', `/admin/apps/${app.app_id}`);
        expect(after.body).to.deep.equal(before.body);
        // And the running issuer still works with the old settings.
        const page = (await h.startLogin(app, new Browser())).page;
        expect(page.body).to.include('Unchanged');
      });
    }

    it('answers 415 for a PATCH that is not JSON, and changes nothing', async () => {
      const app = await createOk({ name: 'Not JSON' });
      const res = await call('PATCH', `/admin/apps/${app.app_id}`, { body: 'name=Other', contentType: 'application/x-www-form-urlencoded' });
      expectError(res, 415, 'invalid_request');
      expect((await call('GET', `/admin/apps/${app.app_id}`)).body.name).to.equal('Not JSON');
    });

    it('answers 404 for an unknown app', async () => {
      expectError(await call('PATCH', `/admin/apps/${UNKNOWN_ID}`, { body: { name: 'Ghost' } }), 404, 'not_found');
    });
  });

  describe('DELETE /admin/apps/{id}', () => {
    it('deletes the app: 204, then 404 everywhere, and its issued tokens stop working', async () => {
      const app = await createOk({ name: 'Doomed' });
      const { tokens } = await h.signIn(app, 'doomed@example.com');
      const me = (token: string) => fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
      const alive = await me(tokens.access_token);
      expect(alive.status).to.equal(200);
      expect(((await alive.json()) as { sub: string }).sub).to.equal('doomed@example.com');
      const browser = new Browser();
      const pending = await h.startLogin(app, browser);
      expect(pending.page.body).to.include('name="email"');
      const countBefore = await appCount();

      const res = await call('DELETE', `/admin/apps/${app.app_id}`);
      expect(res.status).to.equal(204);
      expect(res.text).to.equal('');

      expectError(await call('GET', `/admin/apps/${app.app_id}`), 404, 'not_found');
      expect(await appCount()).to.equal(countBefore - 1);
      const list = await call('GET', '/admin/apps');
      expect((list.body.apps as AppJson[]).map((a) => a.app_id)).not.to.include(app.app_id);

      expect((await fetch(`${app.issuer}/.well-known/openid-configuration`)).status).to.equal(404);
      expect((await fetch(`${app.issuer}/jwks`)).status).to.equal(404);
      expect((await me(tokens.access_token)).status).to.equal(404);

      // A sign-in that was under way cannot continue, and sends no mail.
      const mailsBefore = h.smtp.mails.length;
      const submitted = await browser.submit(pending.page, { email: 'late@example.com' });
      expect(submitted.status).to.equal(404);
      expect(submitted.body).not.to.include('Check your email');
      expect(h.smtp.mails.length).to.equal(mailsBefore);

      // A repeat finishes the deletion again (it may have failed half-way: app-deletion.test.ts).
      expect((await call('DELETE', `/admin/apps/${app.app_id}`)).status).to.equal(204);
      expectError(await call('PATCH', `/admin/apps/${app.app_id}`, { body: { name: 'Back' } }), 404, 'not_found');
    });

    it('deletes only the app named', async () => {
      const keep = await createOk({ name: 'Keeper' });
      const drop = await createOk({ name: 'Dropped' });
      expect((await call('DELETE', `/admin/apps/${drop.app_id}`)).status).to.equal(204);
      expect((await call('GET', `/admin/apps/${keep.app_id}`)).status).to.equal(200);
      expect((await fetch(`${keep.issuer}/.well-known/openid-configuration`)).status).to.equal(200);
    });

    it('answers 404 for an unknown app', async () => {
      expectError(await call('DELETE', `/admin/apps/${UNKNOWN_ID}`), 404, 'not_found');
    });
  });

  // Runs last: looks at every admin response this file received.
  describe('secrets in responses', () => {
    function walk(value: unknown, path: string, found: string[]) {
      if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`, found));
      else if (value && typeof value === 'object') {
        for (const [key, v] of Object.entries(value)) {
          if (PRIVATE_MEMBERS.has(key)) found.push(`${path}.${key}`);
          walk(v, `${path}.${key}`, found);
        }
      } else if (typeof value === 'string' && SEALED.test(value)) found.push(`${path} (sealed value)`);
    }

    it('saw plenty of responses, including confidential clients', () => {
      expect(seen.length).to.be.above(100);
      expect(secretsIssued.length).to.be.at.least(3);
    });

    it('never returned private key members, sealed values or "encrypted" fields', () => {
      for (const { label, text } of seen) {
        if (!text) continue;
        const found: string[] = [];
        walk(JSON.parse(text), '$', found);
        expect(found, label).to.deep.equal([]);
        expect(text.toLowerCase(), label).not.to.include('encrypted');
        expect(text, label).not.to.include('PRIVATE KEY');
      }
    });

    it('never returned a stored private key or sealed secret of any app', async () => {
      const stored = await allApps(h.stores.apps);
      expect(stored.length).to.be.above(10);
      const needles = stored.flatMap((app) => [
        ...app.keys.map((k) => k.encryptedPrivateJwk),
        ...(app.encryptedClientSecret ? [app.encryptedClientSecret] : []),
      ]);
      const all = seen.map((s) => s.text).join('\n');
      for (const needle of needles) expect(all.includes(needle)).to.equal(false);
    });

    it('returned each client secret exactly once, in its 201 response', () => {
      for (const secret of secretsIssued) {
        const carriers = seen.filter((s) => s.text.includes(secret));
        expect(carriers.map((c) => c.label)).to.have.length(1);
        expect(carriers[0]!.status).to.equal(201);
      }
    });
  });
});
