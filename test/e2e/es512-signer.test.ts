// ES512 through a real server: with the native signer, a sign-in's ID token (and a signed
// userinfo and introspection response, and a refreshed ID token) comes from the addon
// (its signature counter moves) and verifies with jose against the JWKS; after a key
// rotation the new kid signs there too. Under the fallback (forced by ES512_SIGNER=node, or
// a missing or broken addon), the server starts, says why once, and its tokens verify.
import { expect } from 'chai';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import * as oidc from 'openid-client';
import { KEY_PROPAGATION_MS } from '../../src/keys/key-ring.ts';
import { DEFAULT_ADDON_PATH, NativeEs512 } from '../../src/keys/native-signer.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { LogoutReceiver, verifyLogoutToken } from '../helpers/logout-receiver.ts';

const BUILT = existsSync(DEFAULT_ADDON_PATH);

const verifyIdToken = (app: AppJson, token: string) =>
  jwtVerify(token, createRemoteJWKSet(new URL(`${app.issuer}/jwks`)), { issuer: app.issuer, audience: app.client_id, algorithms: ['ES512'] });

async function currentEs512Kid(h: Harness, app: AppJson): Promise<string> {
  const view = await h.admin('GET', `/admin/apps/${app.app_id}`);
  const keys = (view.body as { keys: { kid: string; alg: string; status: string }[] }).keys;
  return keys.find((k) => k.alg === 'ES512' && k.status === 'current')!.kid;
}

/** The ES512 metrics lines of a scrape (METRICS_TOKEN unset: open outside production). */
async function es512Metrics(h: Harness): Promise<Record<string, number>> {
  const text = await (await fetch(`${h.url}/metrics`)).text();
  return Object.fromEntries(
    text
      .split('\n')
      .filter((line) => line.startsWith('postern_es512_'))
      .map((line) => [line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1))]),
  );
}

/** The `ES512 signer` lines the server logged at start. */
const signerLines = (h: Harness) => h.logs.map((l) => JSON.parse(l) as Record<string, string>).filter((l) => String(l.msg).startsWith('ES512 signer'));

describe('ES512 signing in the server', function () {
  this.timeout(60_000);

  describe('with the native signer', () => {
    const h = new Harness();
    let native: NativeEs512;

    before(async function () {
      if (!BUILT) {
        console.log(`      (skipped: the native ES512 signer is not built at ${DEFAULT_ADDON_PATH}; run npm run build:native)`);
        this.skip();
      }
      await h.start({ ES512_SIGNER: 'native' });
      expect(h.server.es512.kind).to.equal('native');
      native = h.server.es512 as NativeEs512;
    });
    after(() => h.stop());

    it('signs the ID token of a sign-in with openid-client, verifiable with jose against the JWKS', async () => {
      const [line, ...more] = signerLines(h);
      expect(more).to.deep.equal([]);
      expect(line).to.include({ level: 'info', signer: 'native' });

      const app = await h.createApp();
      const before = native.signatures();
      const { tokens } = await h.signIn(app, 'native@example.com');
      expect(native.signatures() - before, 'signatures the native signer made').to.be.at.least(1);
      const { payload, protectedHeader } = await verifyIdToken(app, tokens.id_token!);
      expect(protectedHeader).to.include({ alg: 'ES512', kid: await currentEs512Kid(h, app) });
      expect(payload.email).to.equal('native@example.com');
      // The operator sees the same: which signer runs, and the signatures it made.
      const scraped = await es512Metrics(h);
      expect(scraped['postern_es512_signer{signer="native"}']).to.equal(1);
      expect(scraped.postern_es512_native_signatures_total).to.be.at.least(native.signatures() - 1);

      // The refreshed ID token too.
      const withRefresh = await h.signIn(app, 'native-refresh@example.com', { scope: 'openid email offline_access' });
      const mid = native.signatures();
      const refreshed = await oidc.refreshTokenGrant(withRefresh.config, withRefresh.tokens.refresh_token!);
      expect(native.signatures() - mid).to.be.at.least(1);
      expect((await verifyIdToken(app, refreshed.id_token!)).payload.sub).to.equal('native-refresh@example.com');
    });

    it('signs userinfo and introspection responses with the app\'s ES512 key', async () => {
      const app = await h.createApp({ token_endpoint_auth_method: 'client_secret_post', userinfo_signed_response_alg: 'ES512', introspection_signed_response_alg: 'ES512' });
      const { tokens } = await h.signIn(app, 'native-jwt@example.com');
      const jwks = createRemoteJWKSet(new URL(`${app.issuer}/jwks`));

      let before = native.signatures();
      const userinfo = await fetch(`${app.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(userinfo.headers.get('content-type')).to.include('application/jwt');
      expect((await jwtVerify(await userinfo.text(), jwks, { algorithms: ['ES512'], issuer: app.issuer, audience: app.client_id })).payload.sub).to.equal('native-jwt@example.com');
      expect(native.signatures() - before).to.equal(1);

      before = native.signatures();
      const introspection = await fetch(`${app.issuer}/token/introspection`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/token-introspection+jwt' },
        body: new URLSearchParams({ client_id: app.client_id, client_secret: app.client_secret!, token: tokens.access_token }),
      });
      const { payload } = await jwtVerify(await introspection.text(), jwks, { algorithms: ['ES512'], issuer: app.issuer });
      expect(payload.token_introspection).to.include({ active: true });
      expect(native.signatures() - before).to.equal(1);
    });

    it('signs the logout tokens of back-channel logout with the app\'s ES512 key', async () => {
      const rp = await new LogoutReceiver().start();
      try {
        const app = await h.createApp({ backchannel_logout_uri: rp.url });
        await h.signIn(app, 'native-logout@example.com');
        const before = native.signatures();
        expect((await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'native-logout@example.com' })).status).to.equal(200);
        await h.server.backchannel.idle();
        expect(rp.tokens).to.have.length(1);
        expect((await verifyLogoutToken(rp.tokens[0]!, app)).sub).to.equal('native-logout@example.com');
        expect(decodeProtectedHeader(rp.tokens[0]!).kid).to.equal(await currentEs512Kid(h, app));
        expect(native.signatures() - before).to.equal(1);
      } finally {
        await rp.stop();
      }
    });

    it('signs with the new kid after a rotation, and the token signed before still verifies', async () => {
      const app = await h.createApp();
      const first = await h.signIn(app, 'rotate-native@example.com');
      const oldKid = decodeProtectedHeader(first.tokens.id_token!).kid;
      h.clock.travel(KEY_PROPAGATION_MS / 1000);
      expect((await h.admin('POST', `/admin/apps/${app.app_id}/keys/rotate`)).status).to.equal(200);
      const newKid = await currentEs512Kid(h, app);
      expect(newKid).to.not.equal(oldKid);

      const before = native.signatures();
      const second = await h.signIn(app, 'rotate-native@example.com');
      expect(native.signatures() - before).to.be.at.least(1);
      expect((await verifyIdToken(app, second.tokens.id_token!)).protectedHeader.kid).to.equal(newKid);
      expect((await verifyIdToken(app, first.tokens.id_token!)).protectedHeader.kid).to.equal(oldKid);
    });

    it('a burst of parallel refreshes gets ID tokens that all verify', async () => {
      const app = await h.createApp();
      const signedIn = await Promise.all(
        Array.from({ length: 4 }, (_, i) => h.signIn(app, `burst-${i}@example.com`, { scope: 'openid email offline_access' })),
      );
      const before = native.signatures();
      const refreshed = await Promise.all(signedIn.map((s) => oidc.refreshTokenGrant(s.config, s.tokens.refresh_token!)));
      expect(native.signatures() - before).to.be.at.least(refreshed.length);
      await Promise.all(refreshed.map((t) => verifyIdToken(app, t.id_token!)));
    });
  });

  describe('falling back to Node\'s crypto', () => {
    const dir = mkdtempSync(join(tmpdir(), 'es512-e2e-'));
    const broken = join(dir, 'broken.node');
    writeFileSync(broken, 'not a shared object');
    after(() => rmSync(dir, { recursive: true, force: true }));

    for (const [what, env, addon, reason] of [
      ['ES512_SIGNER=node', { ES512_SIGNER: 'node' }, undefined, 'ES512_SIGNER=node'],
      ['a missing addon', {}, join(dir, 'missing.node'), join(dir, 'missing.node')],
      ['a broken addon', {}, broken, broken],
    ] as const) {
      it(`with ${what}: starts, warns once naming why, and signs tokens that verify`, async () => {
        const h = new Harness();
        const rp = await new LogoutReceiver().start();
        await h.start(env, addon ? { es512Addon: addon } : {});
        try {
          expect(h.server.es512.kind).to.equal('node');
          const [line, ...more] = signerLines(h);
          expect(more).to.deep.equal([]);
          expect(line).to.include({ level: 'warn', signer: 'node' });
          expect(line!.reason).to.include(reason);

          const app = await h.createApp({ backchannel_logout_uri: rp.url });
          // The addon's counter is per process: a copy loaded here sees every signature it makes.
          const probe = BUILT ? await NativeEs512.load() : undefined;
          const count = probe?.signatures();
          const { tokens } = await h.signIn(app, 'fallback@example.com');
          const { protectedHeader } = await verifyIdToken(app, tokens.id_token!);
          expect(protectedHeader.kid).to.equal(await currentEs512Kid(h, app));
          // And the logout token of an admin sign-out (jose, with the same key).
          await h.admin('POST', `/admin/apps/${app.app_id}/sign-outs`, { email: 'fallback@example.com' });
          await h.server.backchannel.idle();
          expect(rp.tokens).to.have.length(1);
          expect((await verifyLogoutToken(rp.tokens[0]!, app)).sub).to.equal('fallback@example.com');
          expect(probe?.signatures(), 'signatures the native signer made').to.equal(count);
          expect(await es512Metrics(h)).to.deep.equal({ 'postern_es512_signer{signer="node"}': 1, postern_es512_native_signatures_total: 0 });
        } finally {
          await h.stop();
          await rp.stop();
        }
      });
    }
  });
});
