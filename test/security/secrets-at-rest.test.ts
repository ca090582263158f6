// After a real sign-in, someone who can read the store (a Redis dump, a replica, a backup)
// finds none of what was handed out: not the code, the access and refresh tokens or the
// session cookie's id, and nothing from the store is accepted in their place.
//
// The memory store has no rest: the engine's documents live in the heap beside the keys
// that would seal them, so they are kept as the engine wrote them (compose.ts). The app
// records it holds (client secrets, initial access tokens) are sealed and hashed as in
// every store.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import * as oidc from 'openid-client';
import { Browser } from '../helpers/browser.ts';
import type { AppJson } from '../helpers/harness.ts';
import { harnessOn } from '../helpers/storage-harness.ts';
import { memoryAtRest, redisAtRest } from '../contract/at-rest.ts';
import { shortCodeIn } from '../helpers/smtp-capture.ts';

/** Redis hash keys of engine documents: `postern:{app}:m:{Model}:{stored id}`. */
const DOC_KEY = /postern:[^:\n]+:m:([A-Za-z]+):([^\s"]+)/g;

for (const storage of ['memory', 'redis'] as const) {
  describe(`secrets at rest after a sign-in (${storage})`, function () {
    this.timeout(30_000);
    const { h, redis } = harnessOn(storage);
    let app: AppJson;
    const atRest = () => (storage === 'redis' ? redisAtRest(redis.url) : memoryAtRest(h.stores));

    before(async () => {
      app = await h.createApp();
    });

    if (storage === 'memory') {
      it('keeps the engine documents as the engine wrote them: under their own ids, unsealed', async () => {
        const { tokens } = await h.signIn(app, 'unsealed@example.com', { scope: 'openid email offline_access' });
        const stored = await h.stores.oidc.find(app.app_id, 'RefreshToken', tokens.refresh_token!);
        expect(stored?.jti, 'the refresh token under its own id').to.equal(tokens.refresh_token);
        expect(stored?.accountId).to.equal('unsealed@example.com');
        expect(stored).not.to.have.property('sealed');
      });
    }

    if (storage === 'redis') it('stores no code, token or session id that was handed out', async () => {
      const { tokens, callbackUrl, browser } = await h.signIn(app, 'at-rest@example.com', { scope: 'openid email offline_access' });
      const handedOut = {
        code: new URL(callbackUrl).searchParams.get('code')!,
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token!,
        session: browser.cookies.find((c) => c.name === '_session')!.value,
      };
      for (const [what, value] of Object.entries(handedOut)) expect(value, what).to.be.a('string').with.length.above(20);
      const text = await atRest();
      for (const [what, value] of Object.entries(handedOut)) expect(text.includes(value), `${what} in the store`).to.equal(false);
    });

    it("stores a link's short code as nothing a search of 40 bits could find: not in clear, not as its SHA-256", async () => {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { page, mail } = await h.requestLink(browser, login.page, 'short-code@example.com');
      const shown = shortCodeIn(mail);
      const shortCode = shown.replace('-', '');
      const text = await atRest();
      const uid = /\/interaction\/([^/?#]+)/.exec(login.page.url)![1]!;
      const stored = await h.stores.magicLinks.latestForAttempt(app.app_id, uid);
      expect(stored && text.includes(stored.shortCodeHash), 'the link is among what the store holds').to.equal(true);
      const sha256 = (value: string) => createHash('sha256').update(value).digest();
      for (const [what, value] of Object.entries({
        'the code as mailed': shown,
        'the code': shortCode,
        'its SHA-256 (hex)': sha256(shortCode).toString('hex'),
        'its SHA-256 (base64url)': sha256(shortCode).toString('base64url'),
      })) expect(text.includes(value), `${what} in the store`).to.equal(false);
      // And it still signs in, typed on the device that started.
      const done = await browser.submit(page, { code: shown }, '/code', login.redirectUri);
      expect(done.url.startsWith(login.redirectUri)).to.equal(true);
    });

    it('stores no client secret, initial access token or registration access token in clear', async () => {
      const created = await h.admin('POST', `/admin/apps/${app.app_id}/clients`, { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_post' });
      const rotated = await h.admin('POST', `/admin/apps/${app.app_id}/clients/${created.body.client_id}/secret`, { grace_period_seconds: 60 });
      const iat = (await h.admin('POST', `/admin/apps/${app.app_id}/initial-access-tokens`, { max_uses: 2 })).body.initial_access_token as string;
      const registered = (await (
        await fetch(`${app.issuer}/reg`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${iat}` },
          body: JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_basic' }),
        })
      ).json()) as Record<string, string>;
      const handedOut = {
        created: created.body.client_secret as string,
        rotated: rotated.body.client_secret as string,
        initial_access_token: iat,
        registered: registered.client_secret!,
        // An engine document (RegistrationAccessToken): sealed where the store has a rest.
        ...(storage === 'redis' ? { registration_access_token: registered.registration_access_token! } : {}),
      };
      for (const [what, value] of Object.entries(handedOut)) expect(value, what).to.be.a('string').with.length.above(20);
      const text = await atRest();
      expect(text, 'the client is stored').to.include(registered.client_id!);
      for (const [what, value] of Object.entries(handedOut)) expect(text.includes(value), `${what} in the store`).to.equal(false);
    });

    if (storage === 'redis') it('accepts nothing read from the store in place of a token', async function () {
      const { config, tokens } = await h.signIn(app, 'copied@example.com', { scope: 'openid email offline_access' });
      const stored = [...(await atRest()).matchAll(DOC_KEY)].map((m) => m[2]!);
      expect(stored.length, 'stored document ids').to.be.above(2);
      for (const id of new Set(stored)) {
        const refresh = await oidc.refreshTokenGrant(config, id).then(() => 'accepted', (err: { error?: string }) => err.error);
        expect(refresh, `stored id ${id.slice(0, 8)}… as a refresh token`).to.equal('invalid_grant');
        expect((await oidc.tokenIntrospection(config, id)).active, 'as an access token').to.equal(false);
      }
      // The real ones still work.
      expect((await oidc.tokenIntrospection(config, tokens.access_token)).active).to.equal(true);
      expect((await oidc.refreshTokenGrant(config, tokens.refresh_token!)).access_token).to.be.a('string');
    });
  });
}
