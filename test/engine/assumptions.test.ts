// Every assumption src/oidc/engine.ts makes about oidc-provider, checked against a real
// Provider over HTTP (test/engine/engine-fixture.ts). Run this file first after changing
// the engine's version (docs/upgrading-oidc-provider.md): a failure names the assumption
// (A1, A2, …) that no longer holds.
import { expect } from 'chai';
import { createHash, createPrivateKey, createPublicKey, sign as cryptoSign, type JsonWebKey } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import Provider, { ExternalSigningKey, interactionPolicy, type Adapter, type ClientMetadata, type Configuration } from 'oidc-provider';
import * as oidc from 'openid-client';
import { PosternError } from '../../src/errors.ts';
import { peekBody } from '../../src/http/read-body.ts';
import { createLogger } from '../../src/log.ts';
import { clientMetadataOf } from '../../src/oidc/client-metadata.ts';
import {
  engineRequest,
  clientSession,
  CLIENT_MODEL,
  confirmingSignOut,
  presentOneTimeToken,
  endedAtConfirmation,
  ENGINE_BODY_LIMIT,
  engineCorsHeaders,
  engineForm,
  engineFormPost,
  engineHadNoRoute,
  EXTERNAL_SIGNING,
  externalSigningKey,
  GRANT_MODEL,
  clientRefusedStructuredToken,
  introspect,
  isEngineRoute,
  isStructuredToken,
  JWT_ACCESS_TOKEN_MODEL,
  isSignOutConfirmation,
  mayReachPostOnlyRoute,
  POST_ONLY_ROUTES,
  REGISTRATION_ACCESS_TOKEN_MODEL,
  registrationRoute,
  outsideEngineRoutes,
  pendingSignOut,
  PUBLIC_DOCUMENT_ROUTES,
  resumedInteraction,
  rewriteEngineQuery,
  secretTransport,
  spentRefreshTokenAccount,
  signOutRedirect,
  validateClientMetadata,
  type ClientSession,
  type OutsideSigner,
  type PendingSignOut,
  type ResumedInteraction,
  type SecretTransport,
  mayAnswerWithFormPost,
} from '../../src/oidc/engine.ts';
import { providerConfiguration } from '../../src/oidc/provider-config.ts';
import { advertiseRegistrableAlgorithms } from '../../src/oidc/registrable-algorithms.ts';
import { REGISTRATION_POLICY } from '../../src/oidc/client-models.ts';
import { resourceIndicatorsOf } from '../../src/oidc/resource-indicators.ts';
import { AUTHORIZATION_PATH, END_SESSION_PATH, INTROSPECTION_PATH, PAR_PATH, REGISTRATION_PATH, REVOCATION_PATH, TOKEN_PATH } from '../../src/oidc/shared-configuration.ts';
import type { ClientsService } from '../../src/apps/clients-service.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import { StoreUnavailableError, type Stores } from '../../src/storage/ports.ts';
import { openRedisStores } from '../../src/storage/redis/open-redis.ts';
import { appPath } from '../../src/apps/app-paths.ts';
import { SIGNING_ALGS } from '../../src/apps/client-options.ts';
import { generateKey } from '../../src/keys/generate-keys.ts';
import { initialKeys } from '../../src/keys/key-ring.ts';
import { Browser, type Page } from '../helpers/browser.ts';
import { REDIRECT_URI } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';
import { Engine, KEK, makeApp, providerDeps } from './engine-fixture.ts';
import Keygrip from 'keygrip';
import { bothReadBeforeEitherUses } from '../helpers/race.ts';
import { withMethods } from '../helpers/with-methods.ts';
import type { Context } from 'koa';

/** Whether Postern takes a GET to `path` for the engine's `route` (A17). */
const routedAt = (path: string, route: string) => isEngineRoute({ method: 'GET' } as Context, path, 'GET', route);

// Root-level hooks (outside every describe) hold for the whole mocha run: an engine notice
// printed by any test file fails the run. The engine prints each notice once per process,
// through console.warn / console.info, prefixed "oidc-provider".
const notices: string[] = [];
const printed = { warn: console.warn, info: console.info };
before(() => {
  for (const level of ['warn', 'info'] as const) {
    console[level] = (...args: unknown[]) => {
      if (String(args[0]).includes('oidc-provider')) notices.push(String(args[0]));
      else printed[level](...args);
    };
  }
});
after(() => {
  console.warn = printed.warn;
  console.info = printed.info;
  expect(notices, 'oidc-provider printed notices during the test run').to.deep.equal([]);
});

const FORM_TYPE = 'application/x-www-form-urlencoded';

const payloadOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const headerOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;

/** OpenID Connect Core §3.1.3.6: left half of the digest of the ID token's algorithm, base64url. */
function atHash(accessToken: string, digest: 'sha256' | 'sha512'): string {
  const hash = createHash(digest).update(accessToken).digest();
  return hash.subarray(0, hash.length / 2).toString('base64url');
}

async function rejection(promise: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected a rejection');
}

/** The OAuth error of a rejected openid-client call. */
async function oauthError(promise: Promise<unknown>): Promise<unknown> {
  const err = (await rejection(promise)) as { error?: unknown };
  return err.error;
}

describe('engine assumptions (src/oidc/engine.ts)', function () {
  this.timeout(30_000);

  describe('A1: the engine reads its own bodies, from the stream, up to ENGINE_BODY_LIMIT', () => {
    const e = new Engine();
    // With x-peek, Postern reads the body first and puts it back (revoke_all does this).
    before(() => e.start({ front: (engine) => async (ctx) => {
      if (ctx.get('x-peek')) await peekBody(ctx);
      await engine(ctx);
    } }));
    after(() => e.stop());

    /** client_id and a token padded so that the body is exactly `size` bytes. */
    const bodyOf = (size: number) => {
      const head = `client_id=${e.app.id}&token=`;
      return `${head}${'x'.repeat(size - head.length)}`;
    };
    const introspection = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${e.issuer}/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });

    it('parses a body of exactly the limit', async () => {
      const res = await introspection(bodyOf(ENGINE_BODY_LIMIT));
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ active: false });
    });

    it('answers a body one byte over the limit with its vague 400', async () => {
      const res = await introspection(bodyOf(ENGINE_BODY_LIMIT + 1));
      expect(res.status).to.equal(400);
      expect(await res.json()).to.deep.equal({ error: 'invalid_request', error_description: 'failed to parse the request body' });
    });

    it('reads a body that Postern looked at and put back, as sent', async () => {
      const { tokens } = await e.signIn('peeked@example.com');
      const res = await introspection(new URLSearchParams({ client_id: e.app.id, token: tokens.access_token }).toString(), { 'x-peek': '1' });
      expect(res.status).to.equal(200);
      expect(await res.json()).to.include({ active: true, sub: 'peeked@example.com' });
    });
  });

  describe('A2: a path the engine has no route for falls through it without a body', () => {
    const e = new Engine();
    before(() => e.start({ front: (engine) => async (ctx) => {
      await engine(ctx);
      if (engineHadNoRoute(ctx)) ctx.body = { fell_through: true };
    } }));
    after(() => e.stop());

    it('passes an unknown path on, and answers its own', async () => {
      const unknown = await fetch(`${e.issuer}/no-such-endpoint`);
      expect(await unknown.json()).to.deep.equal({ fell_through: true });
      const jwks = await fetch(`${e.issuer}/jwks`);
      expect(jwks.status).to.equal(200);
      expect(await jwks.json()).to.have.property('keys');
    });
  });

  describe('A3, A4, A8, A9: tokens of a sign-in and of its refreshes', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    it('A3: at_hash is the OpenID Connect hash of the access token, at sign-in and on refresh', async () => {
      const { config, tokens } = await e.signIn('hash@example.com', 'openid offline_access');
      expect(headerOf(tokens.id_token!).alg).to.equal('ES512');
      expect(payloadOf(tokens.id_token!).at_hash).to.equal(atHash(tokens.access_token, 'sha512'));
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(payloadOf(refreshed.id_token!).at_hash).to.equal(atHash(refreshed.access_token, 'sha512'));
    });

    it('A4: the ID token carries the session\'s sid, the same at sign-in and on refresh', async () => {
      const { config, tokens } = await e.signIn('sid@example.com', 'openid offline_access');
      const sid = payloadOf(tokens.id_token!).sid;
      expect(sid).to.be.a('string').and.not.equal('');
      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(payloadOf(refreshed.id_token!).sid).to.equal(sid);
      // Another browser's sign-in is another session.
      const again = await e.signIn('sid@example.com', 'openid');
      expect(payloadOf(again.tokens.id_token!).sid).to.not.equal(sid);
    });

    it('A9: offline_access without prompt=consent yields a refresh token once the query is rewritten', async () => {
      const { tokens } = await e.signIn('offline@example.com', 'openid offline_access');
      expect(tokens.refresh_token).to.be.a('string');
      expect(tokens.scope?.split(' ')).to.include('offline_access');
    });

    it('A9: the engine routes every spelling of /auth that the rewrite matches (letters in any case, a trailing slash)', async () => {
      for (const spelling of ['/AUTH', '/Auth/']) {
        const { tokens } = await e.signIn('offline-spelt@example.com', 'openid offline_access', new Browser(), { respell: (url) => url.replace('/auth?', `${spelling}?`) });
        expect(tokens.refresh_token, spelling).to.be.a('string');
      }
      // The engine's folding, which isEngineRoute (A17) follows: ASCII letters only, one trailing slash.
      expect(['/auth', '/AUTH', '/aUtH/'].map((p) => routedAt(p, '/auth'))).to.deep.equal([true, true, true]);
      expect(['/auth//', '/%61uth', '/\u017fession/end', '/auth/x'].map((p) => routedAt(p, p.includes('session') ? '/session/end' : '/auth'))).to.deep.equal([false, false, false, false]);
      for (const path of ['/AUTH', '/auth/', '/%61uth', '/SESSION/END/', '/Session/End', '/auth//', '/session/end//']) {
        const res = await fetch(`${e.issuer}${path}`, { headers: { accept: 'application/json' } });
        const engineRoutes = res.status !== 404;
        expect(engineRoutes, `${path}: the engine routes it`).to.equal(routedAt(path, path.toLowerCase().includes('session') ? '/session/end' : '/auth'));
      }
    });

    it('A9: and once the form of a pushed authorization request is rewritten', async () => {
      const { tokens } = await e.signIn('offline-par@example.com', 'openid offline_access', new Browser(), { par: true });
      expect(tokens.refresh_token).to.be.a('string');
      expect(tokens.scope?.split(' ')).to.include('offline_access');
    });

    it('A8: a used refresh token reported unused gets another successor; a replay revokes the grant', async () => {
      const { config, tokens } = await e.signIn('reuse@example.com', 'openid offline_access');
      const first = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      // Within the reuse window the adapter reports the used token unused and lets its
      // consume pass: a second successor, and both chains live on.
      const again = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      expect(again.refresh_token).to.be.a('string').and.not.equal(first.refresh_token);
      const second = await oidc.refreshTokenGrant(config, first.refresh_token!);
      expect((await oidc.tokenIntrospection(config, again.access_token)).active).to.equal(true);
      // Used longer ago than the window, the engine sees `consumed`: a replay, and it
      // revokes the whole grant.
      const used = (await e.stores.oidc.find(e.app.id, 'RefreshToken', first.refresh_token!))!;
      const longAgo = Math.floor(Date.now() / 1000) - 3600;
      await e.stores.oidc.upsert(e.app.id, 'RefreshToken', first.refresh_token!, { ...used, consumed: longAgo }, 3600);
      expect(await oauthError(oidc.refreshTokenGrant(config, first.refresh_token!))).to.equal('invalid_grant');
      expect(await oauthError(oidc.refreshTokenGrant(config, second.refresh_token!))).to.equal('invalid_grant');
      expect((await oidc.tokenIntrospection(config, second.access_token)).active).to.equal(false);
    });
  });

  describe('A67: every adapter call of one request sees that request\'s context, and a model shares its payload\'s nested objects', () => {
    const e = new Engine();
    /** Each store read and write, with the engine's request at the time. */
    const calls: { method: string; model: string; request: object | undefined }[] = [];
    /** The context each request's `provider.use` middleware got. */
    const contexts: object[] = [];
    before(async () => {
      const stores = openMemoryStores();
      const oidcStore = stores.oidc;
      const recorded = new Proxy(oidcStore, {
        get(target, prop, receiver) {
          const value = Reflect.get(target, prop, receiver);
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            calls.push({ method: String(prop), model: String(args[1]), request: engineRequest() });
            return value.apply(target, args);
          };
        },
      });
      await e.start({ stores: { ...stores, oidc: recorded }, use: [(ctx, next) => (contexts.push(ctx), next())] });
    });
    after(() => e.stop());

    it('one context per request, seen by each of its calls; none outside the engine\'s routes', async () => {
      const { config, tokens } = await e.signIn('context@example.com', 'openid offline_access');
      // The fixture's login page calls interactionDetails outside the engine's routes.
      expect(calls.filter((c) => c.model === 'Interaction' && c.method === 'find').some((c) => c.request === undefined)).to.equal(true);
      calls.length = 0;
      await oidc.refreshTokenGrant(config, tokens.refresh_token!);
      // The refresh grant: the token, its session (by uid), the grant, the successor...
      const requests = new Set(calls.map((c) => c.request));
      expect(calls.map((c) => c.model)).to.include.members(['RefreshToken', 'Session', 'Grant']);
      expect([...requests]).to.have.length(1);
      // The context the middleware of `provider.use` got: Postern's reads there name it (asRequest).
      expect([...requests][0]).to.equal(contexts.at(-1));
      calls.length = 0;
      await Promise.all([oidc.refreshTokenGrant(config, (await e.signIn('context-2@example.com', 'openid offline_access')).tokens.refresh_token!), oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck).catch(() => {})]);
      const distinct = new Set(calls.filter((c) => c.request).map((c) => c.request));
      expect(distinct.size).to.be.at.least(4);
    });

    it('a model built from a payload shares its nested objects', () => {
      const payload = { jti: 'shared', uid: 'u', exp: Math.floor(Date.now() / 1000) + 60, accountId: 'a@example.com', authorizations: { client: { sid: 's' } } };
      const session = new (e.provider.Session as unknown as new (payload: object) => { authorizations: object })(payload);
      expect(session.authorizations).to.equal(payload.authorizations);
    });
  });

  describe('A9: without the rewrite, the engine drops offline_access, and PAR stores the request without it', () => {
    const e = new Engine();
    before(() => e.start({ offlineAccessRewrite: false }));
    after(() => e.stop());

    for (const par of [false, true]) {
      it(`issues no refresh token for offline_access without prompt=consent${par ? ' sent by PAR' : ''}`, async () => {
        const { tokens } = await e.signIn(`dropped-${par}@example.com`, 'openid offline_access', new Browser(), { par });
        expect(tokens.refresh_token).to.equal(undefined);
        expect(tokens.scope?.split(' ')).not.to.include('offline_access');
      });
    }
  });

  describe('A8: a refused consume stops the refresh with nothing issued and nothing revoked', () => {
    const e = new Engine();
    let stores: Stores;
    before(async () => {
      const memory = openMemoryStores();
      stores = { ...memory, oidc: bothReadBeforeEitherUses(memory.oidc, 'RefreshToken') };
      // No reuse window: of two refreshes that both read the token unused, the second consume is refused.
      await e.start({ stores, settings: { refresh_token_reuse_interval: 0 } });
    });
    after(async () => {
      await e.stop();
      await stores.close();
    });

    it('answers the loser invalid_grant and keeps the winner\'s chain', async () => {
      const { config, tokens } = await e.signIn('race@example.com', 'openid offline_access');
      const both = await Promise.allSettled([oidc.refreshTokenGrant(config, tokens.refresh_token!), oidc.refreshTokenGrant(config, tokens.refresh_token!)]);
      const won = both.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      const lost = both.filter((r) => r.status === 'rejected').map((r) => (r.reason as { error?: unknown }).error);
      expect(won).to.have.length(1);
      expect(lost).to.deep.equal(['invalid_grant']);
      expect((await oidc.tokenIntrospection(config, won[0]!.access_token)).active).to.equal(true);
      expect((await oidc.refreshTokenGrant(config, won[0]!.refresh_token!)).access_token).to.be.a('string');
    });
  });

  describe('A12: a token whose grant is gone is refused wherever it is used', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    it('refuses the access token at userinfo and introspection, and the refresh token', async () => {
      const { config, tokens } = await e.signIn('no-grant@example.com', 'openid offline_access');
      const grantId = (await e.stores.oidc.find(e.app.id, 'AccessToken', tokens.access_token))?.grantId;
      expect(grantId).to.be.a('string');
      await e.stores.oidc.destroy(e.app.id, GRANT_MODEL, grantId!);
      const userinfo = await fetch(`${e.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).to.equal(401);
      expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(false);
      expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).to.equal('invalid_grant');
    });
  });

  describe('A5: of the keys of an algorithm, the engine signs with the first listed', () => {
    for (const order of ['as listed', 'reversed'] as const) {
      it(`signs with the first ES512 key, keys ${order}`, async () => {
        let firstEs512: unknown;
        const e = await new Engine().start({
          configure(configuration) {
            const keys = (configuration.jwks?.keys ?? []) as { kid?: string; alg?: string }[];
            const es512 = keys.filter((k) => k.alg === 'ES512');
            expect(es512.length, 'two ES512 keys to choose from').to.equal(2);
            if (order === 'reversed') es512.reverse();
            firstEs512 = es512[0]!.kid;
            return { ...configuration, jwks: { keys: [...es512, ...keys.filter((k) => k.alg !== 'ES512')] as never } };
          },
        });
        try {
          const { tokens } = await e.signIn('keys@example.com');
          expect(headerOf(tokens.id_token!).kid).to.equal(firstEs512);
          // Every key is published.
          const published = ((await (await fetch(`${e.issuer}/jwks`)).json()) as { keys: unknown[] }).keys;
          expect(published).to.have.length(e.app.keys.length);
        } finally {
          await e.stop();
        }
      });
    }
  });

  describe('A36–A38: an ExternalSigningKey is published, signs each JWS through sign(), and verifies with keyObject()', () => {
    /** Stands in for the native signer: Node's crypto behind the same interface, recording what it was given. */
    function recordingSigner(jwk: Record<string, unknown>) {
      const privateKey = createPrivateKey({ key: jwk as JsonWebKey, format: 'jwk' });
      const publicKey = createPublicKey(privateKey);
      const inputs: Buffer[] = [];
      const outputs: Buffer[] = [];
      let keyObjects = 0;
      const signer: OutsideSigner = {
        kid: String(jwk.kid),
        get publicKey() {
          keyObjects++;
          return publicKey;
        },
        async sign(data) {
          inputs.push(Buffer.from(data));
          const signature = cryptoSign('sha512', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
          outputs.push(signature);
          return signature;
        },
      };
      return { signer, inputs, outputs, keyObjects: () => keyObjects, jwk };
    }

    it('publishes kid, alg and the public half; each ID token and signed userinfo is one sign() of its signing input; id_token_hint verifies through keyObject()', async () => {
      let recorders: ReturnType<typeof recordingSigner>[] = [];
      const e = await new Engine().start({
        configure(configuration) {
          const keys = (configuration.jwks?.keys ?? []) as Record<string, unknown>[];
          recorders = keys.filter((k) => k.alg === 'ES512').map(recordingSigner);
          const external = keys.map((k) => (k.alg === 'ES512' ? externalSigningKey('ES512', recorders.find((r) => r.jwk === k)!.signer) : k));
          const [client] = configuration.clients!;
          return { ...configuration, clients: [{ ...client!, userinfo_signed_response_alg: 'ES512' }], jwks: { keys: external as never } };
        },
      });
      try {
        // A36: published with its kid, alg and public members, and nothing private.
        const published = ((await (await fetch(`${e.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] }).keys;
        for (const { jwk } of recorders) {
          expect(published.find((k) => k.kid === jwk.kid)).to.deep.equal({ kty: 'EC', use: 'sig', kid: jwk.kid, alg: 'ES512', crv: 'P-521', x: jwk.x, y: jwk.y });
        }

        // A37: the ID token is one sign() of its signing input, by the first ES512 key (A5).
        const { tokens, browser } = await e.signIn('external@example.com');
        const [first, ...others] = recorders;
        expect(others.flatMap((r) => r.inputs)).to.deep.equal([]);
        const [header, payload, signature] = tokens.id_token!.split('.');
        expect(headerOf(tokens.id_token!)).to.include({ alg: 'ES512', kid: first!.jwk.kid });
        expect(first!.inputs.map(String)).to.deep.equal([`${header}.${payload}`]);
        expect(Buffer.from(signature!, 'base64url')).to.deep.equal(first!.outputs[0]);

        const userinfo = await (await fetch(`${e.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).text();
        const [uHeader, uPayload, uSignature] = userinfo.split('.');
        expect(first!.inputs.slice(1).map(String)).to.deep.equal([`${uHeader}.${uPayload}`]);
        expect(Buffer.from(uSignature!, 'base64url')).to.deep.equal(first!.outputs[1]);

        // A38: the end-session endpoint accepts the ID token as id_token_hint, verified with
        // keyObject() (the JWKS read it once, at start).
        const before = first!.keyObjects();
        const page = await browser.request(`${e.issuer}/session/end?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`);
        expect(page.status).to.equal(200);
        expect(page.body).to.include('/session/end/confirm');
        expect(first!.keyObjects()).to.be.greaterThan(before);
        // An ID token the key did not sign is refused there.
        const forged = `${header}.${payload}.${Buffer.alloc(132, 1).toString('base64url')}`;
        const refused = await browser.request(`${e.issuer}/session/end?${new URLSearchParams({ id_token_hint: forged })}`);
        expect(refused.status).to.equal(400);
      } finally {
        await e.stop();
      }
    });

    it('reads keyObject() synchronously: a key that returns a promise cannot be configured (A36)', async () => {
      const { app } = await makeApp();
      const configuration = providerConfiguration(app, 'https://issuer.example', providerDeps(openMemoryStores()));
      expect(configuration.features?.externalSigningSupport).to.deep.equal(EXTERNAL_SIGNING);
      const jwk = (configuration.jwks!.keys as Record<string, unknown>[]).find((k) => k.alg === 'ES512')!;
      const { signer } = recordingSigner(jwk);
      const promised = new (class extends ExternalSigningKey {
        override get kid() {
          return signer.kid;
        }
        override get alg() {
          return 'ES512';
        }
        override keyObject() {
          return Promise.resolve(signer.publicKey);
        }
      })();
      expect(() => new Provider('https://issuer.example', { ...configuration, jwks: { keys: [promised] } })).to.throw(TypeError);
      expect(() => new Provider('https://issuer.example', { ...configuration, jwks: { keys: [externalSigningKey('ES512', signer)] } })).not.to.throw();
    });
  });

  describe('A6: the engine adds its inline script\'s hash to a script-src set before it runs', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    it('puts the hash of the self-submitting sign-out page\'s script in the policy, and only there', async () => {
      const res = await fetch(`${e.issuer}/session/end`, { headers: { accept: 'text/html' } });
      expect(res.status).to.equal(200);
      const body = await res.text();
      const script = /<script>([\s\S]*?)<\/script>/.exec(body)?.[1];
      expect(script, 'an inline script').to.be.a('string');
      const digest = createHash('sha256').update(script!).digest('base64');
      const policy = res.headers.get('content-security-policy') ?? '';
      const directives = Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives['script-src']).to.deep.equal([`'sha256-${digest}'`]);
      expect(directives['default-src']).to.deep.equal(["'none'"]);
      // A page without a script keeps scripts off altogether.
      const plain = await fetch(`${e.issuer}/auth?client_id=nobody`, { headers: { accept: 'text/html' } });
      expect(plain.headers.get('content-security-policy')).to.include("script-src 'none'");
    });
  });

  describe('A7: a store outage answers 503 temporarily_unavailable', () => {
    const redis = new RedisServer();
    const e = new Engine();
    before(async () => {
      await redis.start();
      await e.start({ stores: await openRedisStores(redis.url, createLogger('silent'), 2_000) });
    });
    after(async () => {
      await e.stop();
      await e.stores.close();
      await redis.destroy();
    });

    it('as JSON on an API endpoint, as a page where the engine renders one, and back to the client from /auth', async () => {
      const { tokens, browser } = await e.signIn('outage@example.com');
      await redis.stop();
      const api = await e.post('/token/introspection', { client_id: e.app.id, token: tokens.access_token });
      expect(api.status).to.equal(503);
      expect(((await api.json()) as { error?: string }).error).to.equal('temporarily_unavailable');
      // The session behind the browser's cookie cannot be read.
      const page = await browser.request(`${e.issuer}/session/end`);
      expect(page.status).to.equal(503);
      expect(page.headers.get('content-type')).to.match(/^text\/html/);
      const config = await e.client();
      const auth = oidc.buildAuthorizationUrl(config, { redirect_uri: e.app.redirectUris[0]!, scope: 'openid', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' });
      const back = await browser.request(auth.href);
      expect(back.status).to.equal(303);
      expect(new URL(back.headers.get('location')!).searchParams.get('error')).to.equal('temporarily_unavailable');
      // Read by Postern outside the engine's routes, the outage is the store's own error again.
      const outside = await rejection(outsideEngineRoutes(e.provider.Interaction.find('any-uid')));
      expect(outside).to.be.instanceOf(StoreUnavailableError);
    });
  });

  describe('A68: a session whose account is gone reaches the interaction policy with its account id and no account', () => {
    /** Signs in, takes the account out of the store behind the engine's back, then asks again silently: the answer. */
    async function silentAfterLoss(e: Engine): Promise<Page> {
      const email = 'gone@example.com';
      const { browser } = await e.signIn(email);
      const accounts = e.stores.accounts as unknown as { byApp: Map<string, Map<string, unknown>> };
      expect(accounts.byApp.get(e.app.id)?.delete(email)).to.equal(true);
      const config = await e.client();
      const auth = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256', prompt: 'none' });
      return browser.request(auth.href);
    }

    describe('with the engine\'s own policy', () => {
      const e = new Engine();
      before(() => e.start({ configure: (c) => ({ ...c, interactions: { ...c.interactions, policy: interactionPolicy.base() } }) }));
      after(() => e.stop());

      it('fails the request with a 500 (its consent prompt reads a grant made only for an account found)', async () => {
        expect((await silentAfterLoss(e)).status).to.equal(500);
      });
    });

    describe('with Postern\'s policy (interactionPolicyOf)', () => {
      const e = new Engine();
      before(() => e.start());
      after(() => e.stop());

      it('asks for a sign-in: login_required for prompt=none, no code', async () => {
        const back = await silentAfterLoss(e);
        expect(back.status).to.equal(303);
        const answer = new URL(back.headers.get('location')!).searchParams;
        expect(answer.get('error')).to.equal('login_required');
        expect(answer.get('code')).to.equal(null);
      });
    });
  });

  describe('A10: Client.validate judges metadata as the app\'s own Provider does', () => {
    let valid: ClientMetadata;
    let configuration: (metadata: ClientMetadata) => Configuration;
    before(async () => {
      const { app: made } = await makeApp('client_secret_basic');
      // An app with keys of every algorithm an app may choose: its Provider then allows
      // what the validator allows (an app gets the keys of an algorithm in the write that
      // chooses it, apps-service.ts).
      const app = { ...made, keys: await initialKeys((alg) => generateKey(made.id, KEK, alg), Date.now(), 3600, SIGNING_ALGS) };
      valid = clientMetadataOf(app, KEK);
      configuration = (metadata) => ({ ...providerConfiguration(app, 'https://engine.test/apps/x', providerDeps(openMemoryStores())), clients: [metadata] });
    });

    /** What the app's Provider says when it loads the client: undefined, or its error. */
    async function appProviderSays(metadata: ClientMetadata) {
      const provider = new Provider('https://engine.test/apps/x', configuration(metadata));
      try {
        await provider.Client.find(String(metadata.client_id));
        return undefined;
      } catch (err) {
        const e = err as { error: string; error_description: string };
        return { code: e.error, description: e.error_description };
      }
    }

    async function validatorSays(metadata: ClientMetadata) {
      try {
        await validateClientMetadata(metadata);
        return undefined;
      } catch (err) {
        expect(err).to.be.instanceOf(PosternError);
        return { code: (err as PosternError).code, description: (err as PosternError).description };
      }
    }

    it('accepts what Postern registers, for web and native apps and every auth method', async () => {
      for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
        const { app } = await makeApp(method);
        expect(await validatorSays(clientMetadataOf(app, KEK)), method).to.equal(undefined);
      }
      expect(await validatorSays({ ...valid, initiate_login_uri: 'https://app.example.com/start?from=idp' }), 'initiate_login_uri').to.equal(undefined);
      const native = { ...valid, application_type: 'native' as const, redirect_uris: ['com.example.app:/callback'] };
      expect(await validatorSays(native)).to.equal(undefined);
      expect(await appProviderSays(native)).to.equal(undefined);
      for (const alg of SIGNING_ALGS) {
        const signed = { ...valid, id_token_signed_response_alg: alg, userinfo_signed_response_alg: alg, introspection_signed_response_alg: alg };
        expect(await validatorSays(signed), alg).to.equal(undefined);
        expect(await appProviderSays(signed), alg).to.equal(undefined);
      }
    });

    it('is the one place that allows an algorithm the app has no key of yet; the app\'s Provider refuses it', async () => {
      const { app } = await makeApp('client_secret_basic');
      const metadata: ClientMetadata = { ...clientMetadataOf(app, KEK), id_token_signed_response_alg: 'EdDSA' };
      expect(await validatorSays(metadata)).to.equal(undefined);
      const provider = new Provider('https://engine.test/apps/y', { ...providerConfiguration(app, 'https://engine.test/apps/y', providerDeps(openMemoryStores())), clients: [metadata] });
      const refused = (await rejection(provider.Client.find(app.id))) as { error?: string };
      expect(refused.error).to.equal('invalid_client_metadata');
    });

    for (const [label, change, code] of [
      ['a fragment in a redirect URI', { redirect_uris: ['https://app.example.com/cb#x'] }, 'invalid_redirect_uri'],
      ['a custom scheme for a web app', { redirect_uris: ['com.example.app:/callback'] }, 'invalid_redirect_uri'],
      ['a non-URL post-logout redirect URI', { post_logout_redirect_uris: ['not a url'] }, 'invalid_client_metadata'],
      ['an auth method not enabled', { token_endpoint_auth_method: 'private_key_jwt' }, 'invalid_client_metadata'],
      ['a signing algorithm not enabled', { id_token_signed_response_alg: 'HS256' }, 'invalid_client_metadata'],
      ['a userinfo signing algorithm not enabled', { userinfo_signed_response_alg: 'PS256' }, 'invalid_client_metadata'],
      ['an introspection signing algorithm not enabled', { introspection_signed_response_alg: 'none' }, 'invalid_client_metadata'],
      ['a response type not enabled', { response_types: ['code id_token'] }, 'invalid_client_metadata'],
      ['a confidential client without a secret', { client_secret: undefined }, 'invalid_client_metadata'],
      ['an initiate_login_uri without https', { initiate_login_uri: 'http://localhost:8080/start' }, 'invalid_client_metadata'],
    ] as const) {
      it(`rejects ${label} with ${code}, as the app's Provider would`, async () => {
        const metadata = { ...valid, ...change } as ClientMetadata;
        const said = await validatorSays(metadata);
        expect(said?.code, JSON.stringify(said)).to.equal(code);
        // The engine lists allowed values in the order of the Provider's keys, which is
        // the app's key order: the same values, perhaps in another order.
        const sameValues = (x: { code?: string; description?: string } | undefined) =>
          x && { code: x.code, description: x.description?.replace(/'[^']*'(?:,? (?:or )?'[^']*')+/, (list) => list.match(/'[^']*'/g)!.sort().join(', ')) };
        expect(sameValues(said)).to.deep.equal(sameValues(await appProviderSays(metadata)));
      });
    }
  });

  describe('A13: a resume finishes the interaction of its cookie and sends the code to the stored redirect_uri unchecked', () => {
    const e = new Engine();
    /** What resumedInteraction read in front of each resume, in order. */
    const seen: ResumedInteraction[] = [];
    /** Changes the stored interaction just before the engine resumes it. */
    let tamper: ((uid: string) => Promise<void>) | undefined;
    before(() => e.start({
      front: (engine) => async (ctx) => {
        const resumed = await resumedInteraction(ctx, e.provider);
        if (resumed) seen.push(resumed);
        const uid = ctx.cookies.get(e.provider.cookieName('resume'));
        if (resumed && uid && tamper) await tamper(uid);
        await engine(ctx);
      },
    }));
    after(() => e.stop());
    beforeEach(() => {
      seen.length = 0;
      tamper = undefined;
    });

    /** An authorization request; the fixture signs in as `email` and the browser stops at the resume URL. */
    async function atResume(email: string, params: Record<string, string> = { redirect_uri: REDIRECT_URI }) {
      const config = await e.client();
      const url = oidc.buildAuthorizationUrl(config, {
        ...params,
        scope: 'openid',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        login_hint: email,
      });
      const browser = new Browser();
      const stop = await browser.navigate(url.href, {}, `${e.issuer}/auth/`);
      expect(stop.url.startsWith(`${e.issuer}/auth/`), stop.body.slice(0, 200)).to.equal(true);
      return { browser, resumeUrl: stop.url };
    }

    const codeOf = (location: string | null) => (location ? new URL(location).searchParams.get('code') : null);

    it('reads the client, redirect_uri and account the engine resumes with, and nothing on other requests', async () => {
      const { browser, resumeUrl } = await atResume('resume@example.com');
      expect(seen).to.deep.equal([]);
      const done = await browser.request(resumeUrl);
      expect(done.headers.get('location')!.startsWith(`${REDIRECT_URI}?`)).to.equal(true);
      expect(codeOf(done.headers.get('location'))).to.be.a('string');
      expect(seen.map(({ clientId, redirectUri, accountId }) => ({ clientId, redirectUri, accountId }))).to.deep.equal([
        { clientId: e.app.id, redirectUri: REDIRECT_URI, accountId: 'resume@example.com' },
      ]);
    });

    it('sends the code to the stored redirect_uri without checking it against the client again', async () => {
      const unregistered = 'http://localhost:8080/never-registered';
      tamper = async (uid) => {
        const interaction = (await e.provider.Interaction.find(uid))!;
        interaction.params.redirect_uri = unregistered;
        await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
      };
      const { browser, resumeUrl } = await atResume('unchecked@example.com');
      const done = await browser.request(resumeUrl);
      expect(done.headers.get('location')!.startsWith(`${unregistered}?`)).to.equal(true);
      expect(codeOf(done.headers.get('location'))).to.be.a('string');
    });

    it('resumes by the cookie, whatever the spelling of the path', async () => {
      const { browser, resumeUrl } = await atResume('spelling@example.com');
      const cookie = browser.cookieHeader(resumeUrl);
      const shouted = resumeUrl.replace('/auth/', '/AUTH/') + '/';
      const done = await fetch(shouted, { headers: { cookie }, redirect: 'manual' });
      expect(codeOf(done.headers.get('location'))).to.be.a('string');
      expect(seen).to.have.length(1);
    });

    it('ends the interaction: after end(), the same resume issues nothing', async () => {
      const { browser, resumeUrl } = await atResume('ended@example.com');
      tamper = async () => {
        await seen[0]!.end();
      };
      const done = await browser.request(resumeUrl);
      expect(done.status).to.equal(400);
      expect(done.headers.get('location')).to.equal(null);
    });
  });

  describe('A14: a sign-out confirmation redirects to the URI kept in the session, unchecked', () => {
    const BYE = 'http://localhost:8080/bye';
    const e = new Engine();
    const seen: { pending: PendingSignOut; matched: boolean; redirect: string | undefined }[] = [];
    let tamper: ((sessionId: string) => Promise<void>) | undefined;
    before(() => e.start({
      configure: (configuration) => ({ ...configuration, clients: configuration.clients!.map((c) => ({ ...c, post_logout_redirect_uris: [BYE] })) }),
      front: (engine) => async (ctx) => {
        if (ctx.method !== 'POST' || !/\/session\//i.test(ctx.path)) return engine(ctx);
        const path = ctx.path.slice(appPath(e.app.id).length);
        const pending = await pendingSignOut(ctx, e.provider);
        const sessionId = ctx.cookies.get(e.provider.cookieName('session'));
        if (tamper && sessionId) await tamper(sessionId);
        await engine(ctx);
        seen.push({ pending, matched: isSignOutConfirmation(ctx, path), redirect: signOutRedirect(ctx, e.provider) });
      },
    }));
    after(() => e.stop());
    beforeEach(() => {
      seen.length = 0;
      tamper = undefined;
    });

    /** Signed in, on the logout page; returns the form's action and fields. */
    async function onLogoutPage(email: string, postLogout?: string) {
      const { tokens, browser } = await e.signIn(email);
      const query = new URLSearchParams({ id_token_hint: tokens.id_token!, state: 'st', ...(postLogout ? { post_logout_redirect_uri: postLogout } : {}) });
      const page = await browser.request(`${e.issuer}/session/end?${query}`);
      expect(page.status).to.equal(200);
      const action = /action="([^"]+)"/.exec(page.body)![1]!;
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
      return { browser, action, xsrf };
    }

    it('reads the client and URI the page was shown for; the confirmation redirects there', async () => {
      const { browser, action, xsrf } = await onLogoutPage('bye@example.com', BYE);
      expect(new URL(action).pathname).to.equal(`${appPath(e.app.id)}/session/end/confirm`);
      const done = await browser.request(action, { form: { xsrf, logout: 'yes' } });
      expect(done.headers.get('location')).to.equal(`${BYE}?state=st`);
      expect(seen).to.deep.equal([
        { pending: { clientId: e.app.id, postLogoutRedirectUri: BYE, state: 'st', accountId: 'bye@example.com' }, matched: true, redirect: `${BYE}?state=st` },
      ]);
    });

    it('redirects to whatever the session holds, without checking it against the client again', async () => {
      const unregistered = 'http://localhost:8080/never-registered';
      tamper = async (id) => {
        const session = (await e.provider.Session.find(id))!;
        session.state = { ...session.state, postLogoutRedirectUri: unregistered };
        await session.save(session.exp - Math.floor(Date.now() / 1000));
      };
      const { browser, action, xsrf } = await onLogoutPage('unchecked-bye@example.com', BYE);
      const done = await browser.request(action, { form: { xsrf } });
      expect(done.headers.get('location')).to.equal(`${unregistered}?state=st`);
    });

    it('routes the confirmation whatever the letters\' case or a trailing slash, and says so after', async () => {
      const { browser, action, xsrf } = await onLogoutPage('case-bye@example.com', BYE);
      const done = await browser.request(action.replace('/session/end/confirm', '/SESSION/End/confirm/'), {
        form: { xsrf, logout: 'yes' },
        headers: { cookie: browser.cookieHeader(action) },
      });
      expect(done.headers.get('location')).to.equal(`${BYE}?state=st`);
      expect(seen).to.deep.include({
        pending: { clientId: e.app.id, postLogoutRedirectUri: BYE, state: 'st', accountId: 'case-bye@example.com' },
        matched: true,
        redirect: `${BYE}?state=st`,
      });
    });

    it('without a post_logout_redirect_uri, redirects under the issuer (no redirect out)', async () => {
      const { browser, action, xsrf } = await onLogoutPage('plain-bye@example.com');
      const done = await browser.request(action, { form: { xsrf, logout: 'yes' } });
      expect(done.headers.get('location')!.startsWith(`${e.issuer}/session/end/success`)).to.equal(true);
      expect(seen[0]).to.deep.include({ matched: true, redirect: undefined });
    });
  });

  describe('A15: at GET /session/end the engine reads ctx.query as the middleware before it left it', () => {
    const BYE = 'http://localhost:8080/bye';
    const e = new Engine();
    /** Queries the middleware hands the engine instead of `?swap=<key>`. */
    const swaps = new Map<string, Record<string, string>>();
    before(() => e.start({
      configure: (configuration) => ({ ...configuration, clients: configuration.clients!.map((c) => ({ ...c, post_logout_redirect_uris: [BYE] })) }),
      use: [rewriteEngineQuery([END_SESSION_PATH], (query) => swaps.get(String(query.swap)) ?? query)],
    }));
    after(() => e.stop());

    for (const spelling of ['/session/end', '/SESSION/END/', '/Session/End']) {
      it(`shows the logout page for the rewritten parameters, and ends at their post-logout URI with their state (${spelling})`, async () => {
        const { tokens, browser } = await e.signIn(`swap${spelling.length}@example.com`);
        swaps.set(spelling, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: BYE, state: `st${spelling}` });
        const page = await browser.request(`${e.issuer}${spelling}?swap=${encodeURIComponent(spelling)}`);
        expect(page.status, page.body.slice(0, 300)).to.equal(200);
        const action = /action="([^"]+)"/.exec(page.body)![1]!;
        const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
        const done = await browser.request(action, { form: { xsrf, logout: 'yes' } });
        expect(done.headers.get('location')).to.equal(`${BYE}?state=${encodeURIComponent(`st${spelling}`)}`);
      });
    }

    it('judges the rewritten parameters, not the ones sent', async () => {
      const { browser } = await e.signIn('swap-bad@example.com');
      swaps.set('bad', { id_token_hint: 'not-a-jwt' });
      const page = await browser.request(`${e.issuer}/session/end?swap=bad`);
      expect(page.status).to.equal(400);
      // The engine refused the swapped-in hint (the query as sent has none, which shows the
      // logout page); the person reads a sentence, never the engine's own description.
      expect(page.body).to.include('sent an incomplete or invalid sign-in request').and.not.include('id_token_hint');
    });
  });

  describe('A11: introspection authenticates the client and reports whose token it is', () => {
    for (const method of ['none', 'client_secret_basic', 'client_secret_post'] as const) {
      describe(`for a ${method} client`, () => {
        const e = new Engine();
        // POST {issuer}/ask is answered by introspect(), as revoke_all is.
        before(() => e.start({
          tokenEndpointAuthMethod: method,
          front: (engine) => async (ctx) => {
            if (ctx.path !== `${appPath(e.app.id)}/ask`) return engine(ctx);
            const answer = await introspect(ctx, appPath(e.app.id), () => engine(ctx));
            if (answer) ctx.body = answer;
          },
        }));
        after(() => e.stop());

        const credentials = (secret = e.secret): { form: Record<string, string>; headers: Record<string, string> } => {
          if (method === 'none') return { form: { client_id: e.app.id }, headers: {} };
          if (method === 'client_secret_post') return { form: { client_id: e.app.id, client_secret: secret! }, headers: {} };
          return { form: {}, headers: { authorization: `Basic ${Buffer.from(`${e.app.id}:${secret}`).toString('base64')}` } };
        };
        const ask = async (token: string, secret?: string) => {
          const { form, headers } = credentials(secret);
          const res = await e.post('/ask', { ...form, token }, headers);
          return { status: res.status, body: (await res.json()) as Record<string, unknown> };
        };

        it('reports an access token and a refresh token active with their account, a used refresh token not', async () => {
          const { config, tokens } = await e.signIn(`${method}@example.com`, 'openid offline_access');
          const active = { status: 200, body: { active: true, accountId: `${method}@example.com`, clientId: e.app.id } };
          expect(await ask(tokens.access_token)).to.deep.equal(active);
          expect(await ask(tokens.refresh_token!)).to.deep.equal(active);
          await oidc.refreshTokenGrant(config, tokens.refresh_token!);
          expect(await ask(tokens.refresh_token!)).to.deep.equal({ status: 200, body: { active: false, clientId: e.app.id } });
          expect(await ask('not-a-token')).to.deep.equal({ status: 200, body: { active: false, clientId: e.app.id } });
        });

        it('A69: finds a spent refresh token of a live grant, with its account, for its own client only', async () => {
          const { config, tokens } = await e.signIn(`spent-${method}@example.com`, 'openid offline_access');
          const next = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
          expect(await spentRefreshTokenAccount(e.provider, tokens.refresh_token!, e.app.id)).to.equal(`spent-${method}@example.com`);
          expect(await spentRefreshTokenAccount(e.provider, tokens.refresh_token!, 'another-client')).to.equal(undefined);
          // Not spent, or not a refresh token: nothing.
          expect(await spentRefreshTokenAccount(e.provider, next.refresh_token!, e.app.id)).to.equal(undefined);
          expect(await spentRefreshTokenAccount(e.provider, tokens.access_token, e.app.id)).to.equal(undefined);
          // Its grant revoked (the chain ended): nothing.
          await oidc.tokenRevocation(config, next.refresh_token!);
          expect(await spentRefreshTokenAccount(e.provider, tokens.refresh_token!, e.app.id)).to.equal(undefined);
        });

        if (method !== 'none') {
          it('leaves the engine\'s own answer to a wrong secret', async () => {
            const denied = await ask('not-a-token', 'wrong');
            expect(denied.status).to.equal(401);
            expect(denied.body.error).to.equal('invalid_client');
          });
        }
      });
    }
  });

  describe('A17: Postern recognises the engine\'s routes and reads its forms as the engine does', () => {
    const e = new Engine();
    // Records, per request, what Postern made of it before the engine ran and what the engine did.
    const seen: { token: boolean; introspection: boolean; jwks: boolean; route: string | undefined; form: unknown; params: unknown }[] = [];
    before(() => e.start({ front: (engine) => async (ctx) => {
      const path = ctx.path.slice(appPath(e.app.id).length);
      const token = isEngineRoute(ctx, path, 'POST', '/token');
      const introspection = isEngineRoute(ctx, path, 'POST', '/token/introspection');
      const jwks = isEngineRoute(ctx, path, 'GET', '/jwks');
      const form = introspection ? await engineForm(ctx) : undefined;
      await engine(ctx);
      const oidcContext = (ctx as unknown as { oidc?: { route?: string; params?: { token?: unknown } } }).oidc;
      seen.push({ token, introspection, jwks, route: oidcContext?.route, form: form?.token, params: oidcContext?.params?.token });
    } }));
    after(() => e.stop());
    beforeEach(() => (seen.length = 0));

    it('routes a path with its letters in any case and one trailing slash, and nothing else', async () => {
      const spellings: Record<string, string | undefined> = {
        '/token': 'token',
        '/TOKEN': 'token',
        '/ToKeN/': 'token',
        '/token//': undefined,
        '/%74oken': undefined,
        '/token/introspection': 'introspection',
        '/TOKEN/Introspection/': 'introspection',
        '/token/introspection/x': undefined,
        '/tokens': undefined,
      };
      for (const [spelling, route] of Object.entries(spellings)) {
        await e.post(spelling, { client_id: e.app.id, token: 'x', grant_type: 'refresh_token', refresh_token: 'x' });
        const [last] = seen.splice(0);
        expect(last!.route, spelling).to.equal(route);
        expect(last!.token, spelling).to.equal(route === 'token');
        expect(last!.introspection, spelling).to.equal(route === 'introspection');
      }
      // A GET route answers HEAD too, and no other method.
      for (const [method, route] of [['GET', 'jwks'], ['HEAD', 'jwks'], ['POST', undefined]] as const) {
        await fetch(`${e.issuer}/JWKS/`, { method });
        const [last] = seen.splice(0);
        expect(last!.route, method).to.equal(route);
        expect(last!.jwks, method).to.equal(route === 'jwks');
      }
    });

    it('parses a form exactly as the engine does: encodings, repeated fields, charsets', async () => {
      const bodies: [string, string][] = [
        ['token=a+b%20c%2Bd', FORM_TYPE],
        ['token=%E2%82%AC', FORM_TYPE],
        ['token=%zz&token2=1', FORM_TYPE],
        ['token=caf%E9', `${FORM_TYPE}; charset=ISO-8859-1`],
        ['token=\u00e9t\u00e9', `${FORM_TYPE}; charset=utf-8`],
      ];
      for (const [body, type] of bodies) {
        await fetch(`${e.issuer}/token/introspection`, { method: 'POST', headers: { 'content-type': type }, body: `client_id=${e.app.id}&${body}` });
        const [last] = seen.splice(0);
        expect(last!.form, body).to.deep.equal(last!.params);
      }
    });
  });

  describe('A18: the engine accepts a client secret by either transport, classified as secretTransport says', () => {
    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      describe(`for a ${method} client, without Postern's check`, () => {
        const e = new Engine();
        const transports: (SecretTransport | undefined)[] = [];
        before(() => e.start({ tokenEndpointAuthMethod: method, front: (engine) => async (ctx) => {
          const form = await engineForm(ctx);
          transports.push(form && secretTransport(ctx, form));
          await engine(ctx);
        } }));
        after(() => e.stop());
        beforeEach(() => (transports.length = 0));

        const basic = (secret: string, scheme = 'Basic') => `${scheme} ${Buffer.from(`${e.app.id}:${secret}`).toString('base64')}`;
        /** Status and error of the request at each endpoint that authenticates clients; the transport Postern saw. */
        const judge = async (form: Record<string, string>, headers: Record<string, string> = {}, extra = '') => {
          const requests: Record<string, string> = {
            token: 'grant_type=refresh_token&refresh_token=x',
            revocation: 'token=x',
            introspection: 'token=x',
            request: `response_type=code&scope=openid&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256`,
          };
          const paths: Record<string, string> = { token: '/token', revocation: '/token/revocation', introspection: '/token/introspection', request: '/request' };
          const out: Record<string, unknown> = {};
          for (const [name, params] of Object.entries(requests)) {
            const clientId = name === 'request' && !('client_id' in form) ? `client_id=${e.app.id}&` : '';
            const body = [new URLSearchParams(form).toString(), `${clientId}${params}`, extra].filter(Boolean).join('&');
            const res = await fetch(`${e.issuer}${paths[name]}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
            const text = await res.text();
            out[name] = { status: res.status, error: res.status >= 400 ? (JSON.parse(text) as { error: string }).error : undefined };
          }
          return { out, transports: transports.splice(0) };
        };
        const accepted = { token: { status: 400, error: 'invalid_grant' }, revocation: { status: 200, error: undefined }, introspection: { status: 200, error: undefined }, request: { status: 201, error: undefined } };
        const refused = (error: string, status: number) => ({ token: { status, error }, revocation: { status, error }, introspection: { status, error }, request: { status, error } });

        it('accepts the secret in the form and in a Basic header (either scheme spelling) alike', async () => {
          const secret = e.secret!;
          expect(await judge({ client_id: e.app.id, client_secret: secret })).to.deep.equal({ out: accepted, transports: Array(4).fill('client_secret_post') });
          expect(await judge({}, { authorization: basic(secret) })).to.deep.equal({ out: accepted, transports: Array(4).fill('client_secret_basic') });
          expect(await judge({}, { authorization: basic(secret, 'bAsIc') })).to.deep.equal({ out: accepted, transports: Array(4).fill('client_secret_basic') });
          // An empty client_secret in the form is no secret: the header authenticates.
          expect(await judge({ client_secret: '' }, { authorization: basic(secret) })).to.deep.equal({ out: accepted, transports: Array(4).fill('client_secret_basic') });
        });

        it('refuses as invalid_request what secretTransport leaves to it', async () => {
          const secret = e.secret!;
          const invalid = { out: refused('invalid_request', 400), transports: Array(4).fill(undefined) };
          expect(await judge({ client_id: e.app.id, client_secret: secret }, { authorization: basic(secret) })).to.deep.equal(invalid);
          expect(await judge({ client_id: e.app.id }, {}, `client_secret=${secret}&client_secret=${secret}`)).to.deep.equal(invalid);
          expect(await judge({ client_id: e.app.id }, { authorization: 'Bearer x' })).to.deep.equal(invalid);
          expect(await judge({ client_id: e.app.id }, { authorization: `Basic ${secret} x` })).to.deep.equal(invalid);
        });
      });
    }
  });

  describe('A21: clients the adapter holds are found on every call; a removed client\'s tokens stop at once', () => {
    // The app's own client, served by the adapter of model Client instead of `clients`.
    const held = new Map<string, ClientMetadata>();
    const e = new Engine();
    before(() =>
      e.start({
        tokenEndpointAuthMethod: 'client_secret_basic',
        configure: (configuration) => {
          const [own] = configuration.clients!;
          held.set(own!.client_id, own!);
          const documents = configuration.adapter as (model: string) => Adapter;
          return {
            ...configuration,
            clients: [],
            adapter: (model: string) =>
              model === CLIENT_MODEL ? { ...documents(model), find: async (id: string) => held.get(id) as never } : documents(model),
          };
        },
      }),
    );
    after(() => e.stop());

    it('Client.find asks the adapter each time: a changed client is rebuilt, a removed one unknown', async () => {
      const own = held.get(e.app.id)!;
      expect((await e.provider.Client.find(e.app.id))?.clientName).to.equal(own.client_name);
      held.set(e.app.id, { ...own, client_name: 'Renamed' });
      expect((await e.provider.Client.find(e.app.id))?.clientName).to.equal('Renamed');
      held.delete(e.app.id);
      expect(await e.provider.Client.find(e.app.id)).to.equal(undefined);
      held.set(e.app.id, own);
    });

    it('refuses the access token at userinfo and introspection, and the refresh token, once the client is gone', async () => {
      const { tokens } = await e.signIn('gone@example.com', 'openid offline_access');
      held.delete(e.app.id);
      const userinfo = await fetch(`${e.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).to.equal(401);
      const basic = `Basic ${Buffer.from(`${e.app.id}:${e.secret}`).toString('base64')}`;
      for (const [path, form] of [['/token/introspection', { token: tokens.access_token }], ['/token', { grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }]] as const) {
        const res = await e.post(path, form, { authorization: basic });
        expect(res.status, path).to.equal(401);
        expect(((await res.json()) as { error: string }).error, path).to.equal('invalid_client');
      }
    });
  });

  describe('A22: registration finds its initial access token through the adapter and runs its policies before storing', () => {
    const e = new Engine();
    let clients: ClientsService;
    before(async () => {
      await e.start();
      clients = providerDeps(e.stores).clients;
    });
    after(() => e.stop());

    const register = (token: string, metadata: Record<string, unknown>) =>
      fetch(`${e.issuer}${REGISTRATION_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(metadata),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, string> }));

    it('answers an unknown token 401 invalid_token, and stores nothing', async () => {
      const res = await register('unknown', { redirect_uris: [REDIRECT_URI] });
      expect(res).to.deep.include({ status: 401 });
      expect(res.body.error).to.equal('invalid_token');
      expect((await e.stores.apps.get(e.app.id))?.clients ?? []).to.have.length(0);
    });

    it('stores the client while the token is the request\'s entity (its use is spent in that write), then issues the registration access token', async () => {
      const { token, record } = await clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 2 });
      const res = await register(token, { redirect_uris: [REDIRECT_URI] });
      expect(res.status).to.equal(201);
      expect(res.body.registration_access_token).to.be.a('string');
      // The engine made a secret for a registration naming no method; the policy's removal
      // of it is what is answered (the method defaults to none).
      expect(res.body).to.include({ token_endpoint_auth_method: 'none' }).and.not.have.property('client_secret');
      const stored = await e.stores.apps.get(e.app.id);
      expect(stored?.clients?.map((c) => c.clientId)).to.deep.equal([res.body.client_id]);
      expect(stored?.initialAccessTokens?.find((t) => t.id === record.id)?.uses).to.equal(1);
    });

    it('ends the request with what a policy throws, before anything is stored, at registration and at an update', async () => {
      const { token } = await clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 5, redirectUriHosts: ['app.example.com'] });
      const refused = await register(token, { redirect_uris: ['https://elsewhere.example.com/cb'] });
      expect(refused.status).to.equal(400);
      expect(refused.body.error).to.equal('invalid_redirect_uri');
      const ok = await register(token, { redirect_uris: ['https://app.example.com/cb'] });
      const update = await fetch(ok.body.registration_client_uri!, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${ok.body.registration_access_token}` },
        body: JSON.stringify({ client_id: ok.body.client_id, redirect_uris: ['https://elsewhere.example.com/cb'] }),
      });
      expect(update.status).to.equal(400);
      const stored = await e.stores.apps.get(e.app.id);
      expect(stored?.clients?.find((c) => c.clientId === ok.body.client_id)?.metadata.redirect_uris).to.deep.equal(['https://app.example.com/cb']);
    });
  });

  describe('A70: a registration saves its access token under its value, in the request, after the policies; an update rotates it in the request', () => {
    /** Every write of a registration access token or an app record, in order, with the route the engine was handling. */
    const writes: string[] = [];
    const recording = (stores: Stores): Stores => {
      const record = (what: string) => writes.push(`${what} at ${registrationRoute()?.route ?? 'no route'}`);
      const oidc = withMethods(stores.oidc, {
        upsert: (upsert) => (...args) => {
          if (args[1] === REGISTRATION_ACCESS_TOKEN_MODEL) record(`upsert ${args[2]}`);
          return upsert(...args);
        },
        destroy: (destroy) => (...args) => {
          if (args[1] === REGISTRATION_ACCESS_TOKEN_MODEL) record(`destroy ${args[2]}`);
          return destroy(...args);
        },
      });
      const apps = withMethods(stores.apps, {
        replace: (replace) => (...args) => {
          record('client');
          return replace(...args);
        },
      });
      return { ...stores, oidc, apps };
    };
    const e = new Engine();
    let clients: ClientsService;
    before(async () => {
      await e.start({ stores: recording(openMemoryStores()) });
      clients = providerDeps(e.stores).clients;
    });
    after(async () => {
      await e.stop();
      await e.stores.close();
    });

    it('stores the token whose value it answers once, before the client; an update stores the new token before it removes the old one', async () => {
      const { token } = await clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 1 });
      writes.length = 0;
      const res = await fetch(`${e.issuer}${REGISTRATION_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ redirect_uris: [REDIRECT_URI] }),
      });
      const registered = (await res.json()) as Record<string, string>;
      expect(res.status).to.equal(201);
      const first = registered.registration_access_token!;
      expect(writes).to.deep.equal([`upsert ${first} at registration`, 'client at registration']);
      const found = await e.provider.RegistrationAccessToken.find(first);
      expect(found?.clientId).to.equal(registered.client_id);
      expect((found as { policies?: string[] } | undefined)?.policies, 'the policies an update runs again').to.deep.equal([REGISTRATION_POLICY]);

      writes.length = 0;
      const update = await fetch(registered.registration_client_uri!, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${first}` },
        body: JSON.stringify({ client_id: registered.client_id, redirect_uris: [REDIRECT_URI], client_name: 'Renamed' }),
      });
      const second = ((await update.json()) as Record<string, string>).registration_access_token!;
      expect(update.status).to.equal(200);
      expect(writes).to.deep.equal(['client at client_update', `upsert ${second} at client_update`, `destroy ${first} at client_update`]);
    });

    it('removes a token presented for another client at once, also at an update (client mismatch)', async () => {
      const register = async () => {
        const { token } = await clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 1 });
        const res = await fetch(`${e.issuer}${REGISTRATION_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body: JSON.stringify({ redirect_uris: [REDIRECT_URI] }),
        });
        return (await res.json()) as Record<string, string>;
      };
      const [mine, theirs] = [await register(), await register()];
      writes.length = 0;
      const update = await fetch(theirs.registration_client_uri!, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${mine.registration_access_token}` },
        body: JSON.stringify({ client_id: theirs.client_id, redirect_uris: [REDIRECT_URI] }),
      });
      expect(update.status).to.equal(401);
      expect(writes).to.deep.equal([`destroy ${mine.registration_access_token} at client_update`]);
      expect(await e.provider.RegistrationAccessToken.find(mine.registration_access_token!)).to.equal(undefined);
    });
  });

  describe('A71: a revocation removes the presented token, then revokes its grant, all in the request', () => {
    /** Every removal, in order, the presented token's marked. */
    const writes: string[] = [];
    let presentedToken = '';
    const recording = (stores: Stores): Stores => ({
      ...stores,
      oidc: withMethods(stores.oidc, {
        destroy: (destroy) => (...args) => {
          writes.push(`destroy ${args[1]}${args[2] === presentedToken ? ' (presented)' : ''}`);
          return destroy(...args);
        },
        revokeByGrantId: (revoke) => (...args) => {
          writes.push(`revokeByGrantId ${args[1]}`);
          return revoke(...args);
        },
      }),
    });
    const e = new Engine();
    before(() => e.start({ stores: recording(openMemoryStores()) }));
    after(async () => {
      await e.stop();
      await e.stores.close();
    });

    for (const kind of ['RefreshToken', 'AccessToken'] as const) {
      it(`names a presented ${kind} and removes it before the grant; Postern removes it last, once the answer is 200`, async () => {
        const { config, tokens } = await e.signIn(`a71-${kind}@example.com`, 'openid offline_access');
        presentedToken = kind === 'RefreshToken' ? tokens.refresh_token! : tokens.access_token;
        writes.length = 0;
        await oidc.tokenRevocation(config, presentedToken);
        // The engine's removal of the token, called while it names the token, is left by
        // Postern's adapter for the end, after the grant's revocation (revocation-order.ts).
        expect(writes.at(-1)).to.equal(`destroy ${kind} (presented)`);
        expect(writes.filter((w) => w.includes('presented'))).to.have.length(1);
        // The grant itself goes at a refresh token's revocation only (the engine's default revokeGrantPolicy).
        const grant = kind === 'RefreshToken' ? [`destroy ${GRANT_MODEL}`] : [];
        expect(writes.slice(0, -1)).to.include.members(['revokeByGrantId AccessToken', 'revokeByGrantId RefreshToken', ...grant]);
        expect(await e.stores.oidc.find(e.app.id, kind, presentedToken)).to.equal(undefined);
      });
    }
  });

  describe('A39: back-channel logout metadata of a registered client is kept, with the engine\'s own sender off', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    it('echoes backchannel_logout_uri and _session_required at registration and RFC 7592 read, and hands them to the adapter', async () => {
      const { token } = await providerDeps(e.stores).clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 1 });
      const metadata = { redirect_uris: [REDIRECT_URI], backchannel_logout_uri: 'https://bc.example.com/logout', backchannel_logout_session_required: true };
      const res = await fetch(`${e.issuer}${REGISTRATION_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify(metadata),
      });
      const body = (await res.json()) as Record<string, string>;
      expect(res.status, JSON.stringify(body)).to.equal(201);
      expect(body).to.include({ backchannel_logout_uri: metadata.backchannel_logout_uri, backchannel_logout_session_required: true });
      const stored = (await e.stores.apps.get(e.app.id))?.clients?.find((c) => c.clientId === body.client_id);
      expect(stored?.metadata).to.include({ backchannel_logout_uri: metadata.backchannel_logout_uri, backchannel_logout_session_required: true });
      const read = await fetch(body.registration_client_uri!, { headers: { authorization: `Bearer ${body.registration_access_token}` } });
      expect(await read.json()).to.include({ backchannel_logout_uri: metadata.backchannel_logout_uri });
    });
  });

  describe('A50: the engine signs and checks its cookies with the object in cookies.keys', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());
    /** An authorization request with prompt=none in `browser`: the callback's query. */
    async function silently(browser: Browser): Promise<URLSearchParams> {
      const config = await e.client();
      const params = { redirect_uri: REDIRECT_URI, scope: 'openid', prompt: 'none', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' };
      const callback = await browser.navigate(oidc.buildAuthorizationUrl(config, params).href, {}, REDIRECT_URI);
      return new URL(callback.url).searchParams;
    }

    it("signs each cookie exactly as Keygrip does, and takes Keygrip's signatures back; another key's are refused", async () => {
      const secrets = providerDeps(e.stores).cookieSecrets;
      const { browser } = await e.signIn('a50@example.com');
      const signatures = browser.cookies.filter((c) => c.name.endsWith('.sig'));
      expect(signatures.map((c) => c.name)).to.include('_session.sig');
      for (const sig of signatures) {
        const cookie = browser.cookies.find((c) => c.name === sig.name.slice(0, -4) && c.path === sig.path)!;
        expect(sig.value, sig.name).to.equal(new Keygrip([...secrets]).sign(`${cookie.name}=${cookie.value}`));
      }
      expect((await silently(browser)).has('code'), 'the session cookie verifies').to.equal(true);

      const session = browser.cookies.find((c) => c.name === '_session')!;
      const forged = browser.cookies.find((c) => c.name === '_session.sig')!;
      forged.value = new Keygrip(['another-secret-0123456789abcdef0123456789']).sign(`_session=${session.value}`);
      expect((await silently(browser)).get('error'), 'signed with another key').to.equal('login_required');
      forged.value = new Keygrip([...secrets]).sign(`_session=${session.value}`).toUpperCase();
      expect((await silently(browser)).get('error'), 'its signature in other letter case').to.equal('login_required');
      forged.value = new Keygrip([...secrets]).sign(`_session=${session.value}`);
      expect((await silently(browser)).has('code'), "Keygrip's own signature").to.equal(true);
    });
  });

  describe('A40: the registration endpoint reads the Bearer token a middleware before it presented', () => {
    const e = new Engine();
    let presented = '';
    before(() =>
      e.start({
        front: (engine) => async (ctx) => {
          if (presented && ctx.get('authorization') === '') presentOneTimeToken(ctx, presented);
          await engine(ctx);
        },
      }),
    );
    after(() => e.stop());

    it('registers a token-less request with the value presented for it, runs the policy, and stores the client', async () => {
      const register = (metadata: Record<string, unknown>) =>
        fetch(`${e.issuer}${REGISTRATION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(metadata) });
      expect((await register({ redirect_uris: [REDIRECT_URI] })).status, 'nothing presented').to.equal(401);
      presented = (await providerDeps(e.stores).clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 5 })).token;
      expect((await register({ redirect_uris: ['javascript:alert(1)'] })).status, 'the policy runs').to.equal(400);
      const res = await register({ redirect_uris: [REDIRECT_URI] });
      expect(res.status).to.equal(201);
      expect((await e.stores.apps.get(e.app.id))?.clients ?? []).to.have.length(1);
    });
  });

  describe('A44–A46: signed-response defaults, algorithms bounded by the keystore, registration judged before it is stored', () => {
    const e = new Engine();
    before(() => e.start({ use: [advertiseRegistrableAlgorithms] }));
    after(() => e.stop());
    const client = { client_id: 'defaults', redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' } as ClientMetadata;

    it('A44: a client naming no introspection algorithm gets clientDefaults\' (the app\'s ID token one), the engine\'s own RS256 without it', async () => {
      const configured = providerConfiguration(e.app, 'https://engine.test/apps/d', providerDeps(openMemoryStores()));
      const withPostern = new Provider('https://engine.test/apps/d', { ...configured, clients: [client] });
      const found = await withPostern.Client.find('defaults');
      expect(found?.introspectionSignedResponseAlg).to.equal('ES512');
      expect(found?.metadata().introspection_signed_response_alg).to.equal('ES512');
      const { introspection_signed_response_alg: _i, authorization_signed_response_alg: _a, ...engineDefaults } = configured.clientDefaults!;
      const bare = new Provider('https://engine.test/apps/d', { ...configured, clientDefaults: engineDefaults, clients: [client] });
      // The engine's own default, RS256, of which this app holds no key (A45): the client is refused.
      const refused = (await rejection(bare.Client.find('defaults'))) as { error?: string; error_description?: string };
      expect(refused.error).to.equal('invalid_client_metadata');
      expect(refused.error_description).to.match(/^introspection_signed_response_alg must be/);
    });

    it('A45: with ES512 keys only, the engine lists ES512 alone, whatever `discovery` says, and refuses an RS256 client', async () => {
      const configured = providerConfiguration(e.app, 'https://engine.test/apps/k', providerDeps(openMemoryStores()));
      const wider = { ...configured, discovery: { ...configured.discovery, id_token_signing_alg_values_supported: [...SIGNING_ALGS] } };
      const provider = new Provider('https://engine.test/apps/k', { ...wider, clients: [{ ...client, id_token_signed_response_alg: 'RS256' }] });
      const server = createServer(provider.callback()).listen(0);
      try {
        await once(server, 'listening');
        const port = (server.address() as { port: number }).port;
        const meta = (await (await fetch(`http://localhost:${port}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
        for (const field of ['id_token_signing_alg_values_supported', 'userinfo_signing_alg_values_supported', 'introspection_signing_alg_values_supported']) {
          expect(meta[field], field).to.deep.equal(['ES512']);
        }
      } finally {
        server.close();
      }
      expect(((await rejection(provider.Client.find('defaults'))) as { error?: string }).error).to.equal('invalid_client_metadata');
      // Postern's rewrite after the engine lists every algorithm a client may register.
      const listed = (await (await fetch(`${e.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(listed.id_token_signing_alg_values_supported).to.deep.equal([...SIGNING_ALGS]);
    });

    it('A46: refuses an RS256 registration before storing anything; an update\'s registration access token names its client', async () => {
      const { token } = await providerDeps(e.stores).clients.mintInitialAccessToken(e.app.id, { expiresIn: 600, maxUses: 5 });
      const register = (metadata: Record<string, unknown>) =>
        fetch(`${e.issuer}${REGISTRATION_PATH}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(metadata) });
      const refused = await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'RS256' });
      expect(refused.status).to.equal(400);
      expect(((await refused.json()) as { error: string }).error).to.equal('invalid_client_metadata');
      expect((await e.stores.apps.get(e.app.id))?.clients ?? []).to.deep.equal([]);
      const made = (await (await register({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: 'none' })).json()) as { client_id: string; registration_access_token: string };
      expect((await e.provider.RegistrationAccessToken.find(made.registration_access_token))?.clientId).to.equal(made.client_id);
      expect(await e.provider.RegistrationAccessToken.find('not-a-token')).to.equal(undefined);
    });
  });

  describe('A19, A20: a session holds each client\'s sid, and a sign-out confirmation shows what it ended', () => {
    const e = new Engine();
    const seen: { before: ClientSession; ended: boolean }[] = [];
    before(() => e.start({
      front: (engine) => async (ctx) => {
        const path = ctx.path.slice(appPath(e.app.id).length);
        const before = isSignOutConfirmation(ctx, path) ? (await confirmingSignOut(ctx, e.provider)).flatMap(({ clientId, ...part }) => (clientId === e.app.id ? [part] : []))[0] : undefined;
        await engine(ctx);
        if (before) seen.push({ before, ended: endedAtConfirmation(ctx, before, e.app.id) });
      },
    }));
    after(() => e.stop());
    beforeEach(() => {
      seen.length = 0;
    });

    /** Signed in, on the logout page (with id_token_hint unless `anonymous`). */
    async function onLogoutPage(email: string, anonymous = false) {
      const { tokens, browser } = await e.signIn(email);
      const query = anonymous ? '' : `?${new URLSearchParams({ id_token_hint: tokens.id_token! })}`;
      const page = await browser.request(`${e.issuer}/session/end${query}`);
      expect(page.status).to.equal(200);
      const action = /action="([^"]+)"/.exec(page.body)![1]!;
      const xsrf = /name="xsrf" value="([^"]+)"/.exec(page.body)![1]!;
      return { browser, action, xsrf, sid: payloadOf(tokens.id_token!).sid as string };
    }

    it('A19: the session of the cookie, and its stored document, hold the account and the sid the client\'s ID tokens carry', async () => {
      const { tokens, browser } = await e.signIn('sid-holder@example.com');
      const sid = payloadOf(tokens.id_token!).sid;
      const session = await e.provider.Session.find(browser.cookies.find((c) => c.name === e.provider.cookieName('session'))!.value);
      expect(clientSession(session, e.app.id)).to.deep.equal({ accountId: 'sid-holder@example.com', sid });
      expect(clientSession(session, 'another-client')).to.equal(undefined);
      const removed = await e.stores.oidc.destroyByAccount(e.app.id, 'sid-holder@example.com');
      expect(removed.sessions.map((s) => clientSession(s.payload, e.app.id))).to.deep.equal([{ accountId: 'sid-holder@example.com', sid }]);
    });

    it('A20: signing out of everything ends the client\'s session', async () => {
      const { browser, action, xsrf, sid } = await onLogoutPage('out-everything@example.com');
      await browser.request(action, { form: { xsrf, logout: 'yes' } });
      expect(seen).to.deep.equal([{ before: { accountId: 'out-everything@example.com', sid }, ended: true }]);
    });

    it('A20: a confirmation without "logout" for the client that asked ends that client\'s part', async () => {
      const { browser, action, xsrf, sid } = await onLogoutPage('out-of-one@example.com');
      await browser.request(action, { form: { xsrf } });
      expect(seen).to.deep.equal([{ before: { accountId: 'out-of-one@example.com', sid }, ended: true }]);
    });

    it('A20: a confirmation that ends nothing (no client named, no "logout"; a forged xsrf) shows nothing ended', async () => {
      const anonymous = await onLogoutPage('stays-anonymous@example.com', true);
      await anonymous.browser.request(anonymous.action, { form: { xsrf: anonymous.xsrf } });
      const forged = await onLogoutPage('stays-forged@example.com');
      expect((await forged.browser.request(forged.action, { form: { xsrf: 'forged', logout: 'yes' } })).status).to.equal(400);
      expect(seen.map((s) => [s.before.accountId, s.ended])).to.deep.equal([
        ['stays-anonymous@example.com', false],
        ['stays-forged@example.com', false],
      ]);
    });
  });
  describe('A25, A26, A27: JWT access tokens', () => {
    const API = 'https://api.example.com';
    const e = new Engine();
    /** What clientRefusedStructuredToken said after the engine answered each introspection request. */
    const refusedFor: (string | undefined)[] = [];
    before(() =>
      e.start({
        // The app with one API, as the admin API would store it.
        configure: (c) => ({
          ...c,
          features: {
            ...c.features,
            resourceIndicators: resourceIndicatorsOf({ ...e.app, resources: [{ id: 'res_1', identifier: API, scopes: ['read'], accessTokenTtl: 120, createdAt: 0, updatedAt: 0 }] }),
          },
        }),
        use: [
          async (ctx, next) => {
            await next();
            if (ctx.path.endsWith('/token/introspection')) refusedFor.push(clientRefusedStructuredToken(ctx));
          },
        ],
      }),
    );
    after(() => e.stop());

    /** `resource` at the authorization and token requests: a JWT access token. */
    const jwtSignIn = async (email: string) => {
      const { exchange } = await e.authorize(email, 'openid read', new Browser(), { respell: (url) => `${url}&resource=${encodeURIComponent(API)}` });
      return { tokens: await exchange({ resource: API }) };
    };

    it('A25: introspection authenticates the client first, then refuses a JWS with unsupported_token_type, the client known', async () => {
      const { tokens } = await jwtSignIn('a25@example.com');
      expect(isStructuredToken(tokens.access_token)).to.equal(true);
      refusedFor.length = 0;
      const refused = await e.post('/token/introspection', { token: tokens.access_token, client_id: e.app.id });
      expect(refused.status).to.equal(400);
      expect(((await refused.json()) as { error: string }).error).to.equal('unsupported_token_type');
      const unknownClient = await e.post('/token/introspection', { token: tokens.access_token, client_id: 'someone-else' });
      expect(unknownClient.status).to.equal(401);
      const opaque = await e.post('/token/introspection', { token: 'not-a-jws', client_id: e.app.id });
      expect(opaque.status).to.equal(200);
      expect(refusedFor).to.deep.equal([e.app.id, undefined, undefined]);
      // isStructuredToken is the engine's test: a JWS header that decodes.
      expect(['not-a-jws', 'a.b.c', `${Buffer.from('{"alg":"none"}').toString('base64url')}.e30.`].map(isStructuredToken)).to.deep.equal([false, false, true]);
    });

    it('A26: a JWT access token is not stored, and the customizer has recorded its jti, grant, account, client and lifetime before the answer', async () => {
      const { tokens } = await jwtSignIn('a26@example.com');
      const { jti, exp, iat } = payloadOf(tokens.access_token) as { jti: string; exp: number; iat: number };
      expect(exp - iat).to.equal(120);
      expect(await e.stores.oidc.find(e.app.id, 'AccessToken', jti)).to.equal(undefined);
      expect(await e.stores.oidc.find(e.app.id, 'AccessToken', tokens.access_token)).to.equal(undefined);
      const recorded = await e.stores.oidc.find(e.app.id, JWT_ACCESS_TOKEN_MODEL, jti);
      expect(recorded).to.include({ accountId: 'a26@example.com', clientId: e.app.id });
      expect(await e.stores.oidc.find(e.app.id, GRANT_MODEL, recorded!.grantId as string)).to.include({ accountId: 'a26@example.com' });
    });

    it('A27: userinfo answers a JWT access token with invalid_token, revocation refuses it as structured', async () => {
      const { tokens } = await jwtSignIn('a27@example.com');
      const userinfo = await fetch(`${e.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.status).to.equal(401);
      expect(userinfo.headers.get('www-authenticate')).to.match(/invalid_token/);
      const revocation = await e.post('/token/revocation', { token: tokens.access_token, client_id: e.app.id });
      expect(revocation.status).to.equal(400);
      expect(((await revocation.json()) as { error: string }).error).to.equal('unsupported_token_type');
    });
  });

  describe('A33: discovery and the JWKS are the same JSON for every request to a Provider, with CORS from the request', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    for (const [name, path] of Object.entries(PUBLIC_DOCUMENT_ROUTES)) {
      it(`${name}: one body whatever the request sends; Vary: Origin and the Origin (or *) allowed; no caching headers of its own`, async () => {
        const asks = [{}, { origin: 'https://a.example' }, { origin: 'https://b.example', 'if-none-match': '*', cookie: 'x=y', accept: 'text/html' }];
        const answers = await Promise.all(asks.map((headers) => fetch(`${e.issuer}${path}`, { headers })));
        const bodies = await Promise.all(answers.map((r) => r.text()));
        expect(new Set(bodies).size).to.equal(1);
        expect(JSON.parse(bodies[0]!)).to.be.an('object');
        answers.forEach((res, i) => {
          expect(res.status).to.equal(200);
          const origin = (asks[i] as { origin?: string }).origin;
          const expected = engineCorsHeaders({ get: (h: string) => (h === 'Origin' ? (origin ?? '') : '') } as never);
          expect(res.headers.get('access-control-allow-origin')).to.equal(expected['Access-Control-Allow-Origin']);
          expect(res.headers.get('vary')).to.match(/^origin$/i);
          expect(res.headers.get('etag')).to.equal(null);
          // The only Cache-Control is the one Postern's security headers add (the fixture runs them).
          expect(res.headers.get('cache-control')).to.equal('public, max-age=300');
        });
      });
    }
  });

  describe('A28: the engine writes its self-submitting form whole, in a shape Postern can read back', () => {
    const e = new Engine();
    before(() => e.start());
    after(() => e.stop());

    it('a sign-out without a session: action, fields (escaped by the engine, read back exactly) and the one script the CSP allows', async () => {
      const page = await new Browser().request(`${e.issuer}${END_SESSION_PATH}`);
      expect(page.status).to.equal(200);
      const form = engineFormPost(page.body)!;
      expect(form, page.body.slice(0, 400)).to.not.equal(undefined);
      expect(form.action).to.equal(`${e.issuer}${END_SESSION_PATH}/confirm`);
      expect(form.fields.map(([name]) => name)).to.deep.equal(['xsrf', 'logout']);
      expect(form.fields[1]).to.deep.equal(['logout', 'yes']);
      const hash = createHash('sha256').update(form.script!.replace(/^<script>|<\/script>$/g, '')).digest('base64');
      expect(page.headers.get('content-security-policy')).to.include(`'sha256-${hash}'`);
    });

    it('a form_post answer: the state as sent, with every character the engine escapes', async () => {
      const { browser, config } = await e.signIn('form-post-shape@example.com');
      const state = `a&b<c>"d'e`;
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'openid',
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        response_mode: 'form_post',
        state,
      });
      const page = await browser.navigate(url.href);
      const form = engineFormPost(page.body)!;
      expect(form.action).to.equal(REDIRECT_URI);
      expect(Object.fromEntries(form.fields).state).to.equal(state);
      expect(Object.fromEntries(form.fields).code).to.be.a('string');
    });

    it('reads nothing from any other body', () => {
      for (const body of [undefined, '', '<html><title>Sign in</title><form method="post" action="/x"></form>', { title: 'Submitting Callback' }]) {
        expect(engineFormPost(body)).to.equal(undefined);
      }
    });
  });

  describe('A41: the sign-out confirmation and revocation are routed at POST only', () => {
    const e = new Engine();
    const routes: { method: string; route: string | undefined }[] = [];
    before(() =>
      e.start({
        front: (engine) => async (ctx) => {
          await engine(ctx);
          routes.push({ method: ctx.method, route: (ctx as unknown as { oidc?: { route?: string } }).oidc?.route });
        },
      }),
    );
    after(() => e.stop());
    beforeEach(() => (routes.length = 0));

    const paths = [`${END_SESSION_PATH}/confirm`, REVOCATION_PATH];
    const spellings = paths.flatMap((path) => [path, path.toUpperCase(), `${path}/`]);

    it('never routes another method there, in any spelling, preflights included', async () => {
      for (const path of spellings) {
        for (const method of ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']) {
          const headers = method === 'OPTIONS' ? { origin: 'https://rp.example', 'access-control-request-method': 'POST' } : undefined;
          await fetch(`${e.issuer}${path}`, { method, headers });
        }
      }
      expect(routes.length).to.equal(spellings.length * 6);
      for (const { method, route } of routes) expect(POST_ONLY_ROUTES, `${method} routed to ${route}`).not.to.include(route);
      expect(routes.every(({ method }) => !mayReachPostOnlyRoute({ method } as Context))).to.equal(true);
    });

    it('routes POST there (the test can see those routes)', async () => {
      for (const path of spellings) await fetch(`${e.issuer}${path}`, { method: 'POST', headers: { 'content-type': FORM_TYPE }, body: '' });
      expect(routes.map((r) => r.route)).to.deep.equal(spellings.map((path) => (path.toLowerCase().startsWith(END_SESSION_PATH) ? 'end_session_confirm' : 'revocation')));
      expect(routes.every(({ method }) => mayReachPostOnlyRoute({ method } as Context))).to.equal(true);
    });
  });
  describe('A64: the engine writes its self-submitting form in answer to GET (or HEAD) only', () => {
    const e = new Engine();
    const answers: { method: string; route: string | undefined; body: unknown }[] = [];
    before(() =>
      e.start({
        front: (engine) => async (ctx) => {
          await engine(ctx);
          answers.push({ method: ctx.method, route: (ctx as unknown as { oidc?: { route?: string } }).oidc?.route, body: ctx.body });
        },
      }),
    );
    after(() => e.stop());
    beforeEach(() => (answers.length = 0));

    // Every route of an app's Provider, and the routes that draw the form at GET.
    const paths = [AUTHORIZATION_PATH, `${AUTHORIZATION_PATH}/some-interaction`, END_SESSION_PATH, `${END_SESSION_PATH}/confirm`, `${END_SESSION_PATH}/success`, TOKEN_PATH, PAR_PATH, REVOCATION_PATH, INTROSPECTION_PATH, REGISTRATION_PATH, `${REGISTRATION_PATH}/some-client`, '/me', '/jwks'];
    const spellings = paths.flatMap((path) => [path, path.toUpperCase(), `${path}/`]);

    it('never for another method, whatever the form asks for (response_mode=form_post included)', async () => {
      const { browser } = await e.signIn('form-post-methods@example.com');
      answers.length = 0;
      const form = { client_id: e.app.id, redirect_uri: REDIRECT_URI, response_type: 'code', response_mode: 'form_post', scope: 'openid', logout: 'yes', xsrf: 'x' };
      for (const path of spellings) {
        for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
          // With the session's cookies, as a browser that signed in would send them.
          await browser.request(`${e.issuer}${path}`, { method, form });
        }
      }
      expect(answers.length).to.equal(spellings.length * 4);
      for (const { method, route, body } of answers) {
        expect(engineFormPost(body), `${method} ${route}`).to.equal(undefined);
        expect(mayAnswerWithFormPost({ method } as Context)).to.equal(false);
      }
    });

    it('at GET it does (the test can see the form), and mayAnswerWithFormPost says so', async () => {
      await fetch(`${e.issuer}${END_SESSION_PATH}`);
      await fetch(`${e.issuer}${END_SESSION_PATH}`, { method: 'HEAD' });
      expect(answers.map((a) => a.method)).to.deep.equal(['GET', 'HEAD']);
      for (const { method, body } of answers) {
        expect(engineFormPost(body), method).to.not.equal(undefined);
        expect(mayAnswerWithFormPost({ method } as Context)).to.equal(true);
      }
    });
  });
});

describe('A61: a model read through the adapter shares its nested objects with what the adapter returned', () => {
  const held = new Map<string, Record<string, unknown>>();
  const e = new Engine();
  before(() =>
    e.start({
      configure: (configuration) => {
        const documents = configuration.adapter as (model: string) => Adapter;
        return {
          ...configuration,
          // The adapter returns the very objects it holds, as a by-reference store would.
          adapter: (model: string) => ({ ...documents(model), find: async (id: string) => held.get(`${model}:${id}`) as never }),
        };
      },
    }),
  );
  after(() => e.stop());

  it('changes a session\'s authorizations and a grant\'s scopes in the held objects themselves, without an upsert', async () => {
    const now = Math.floor(Date.now() / 1000);
    const session = { jti: 'a61-session', kind: 'Session', iat: now, exp: now + 600, uid: 'a61-uid', accountId: 'a61@example.com', authorizations: { [e.app.id]: { sid: 'first-sid' } } };
    const grant = { jti: 'a61-grant', kind: 'Grant', iat: now, exp: now + 600, accountId: 'a61@example.com', clientId: e.app.id, openid: { scope: 'openid' } };
    held.set('Session:a61-session', session);
    held.set('Grant:a61-grant', grant);
    const readSession = (await e.provider.Session.find('a61-session'))!;
    const readGrant = (await e.provider.Grant.find('a61-grant'))!;
    expect(readSession.authorizations, 'nested object shared').to.equal(session.authorizations);
    readSession.sidFor(e.app.id, 'second-sid');
    readGrant.addOIDCScope('openid email');
    expect(session.authorizations[e.app.id]!.sid).to.equal('second-sid');
    expect(grant.openid.scope).to.equal('openid email');
  });

  it('leaves what the memory store holds unchanged: each read is a copy of its own, and so is each write', async () => {
    const stores = openMemoryStores();
    const written = { jti: 'g', kind: 'Grant', openid: { scope: 'openid' } };
    await stores.oidc.upsert('a61', 'Grant', 'g', written, 600);
    written.openid.scope = 'changed after the write';
    const first = (await stores.oidc.find('a61', 'Grant', 'g'))!;
    (first['openid'] as { scope: string }).scope = 'openid email';
    expect((await stores.oidc.find('a61', 'Grant', 'g'))?.['openid']).to.deep.equal({ scope: 'openid' });
    await stores.close();
  });
});
