// A document one request reads twice comes from the store once (src/oidc/request-reads.ts):
// the interaction a resume finishes, the session a code exchange is bound to. Counted at
// the store under the sealing, on the memory store and on Redis; every reader still sees
// the document as stored, and requests never share what they read.
import { expect } from 'chai';
import * as oidc from 'openid-client';
import type { OidcStore } from '../../src/storage/ports.ts';
import { Browser, formOn } from '../helpers/browser.ts';
import { Harness, type AppJson } from '../helpers/harness.ts';
import { RedisServer } from '../helpers/redis-server.ts';

/** Counts the store's reads of `model` by `method` from now on. */
function countReads(store: OidcStore): { count(method: 'find' | 'findByUid', model: string): number; reset(): void } {
  const counts = new Map<string, number>();
  for (const method of ['find', 'findByUid'] as const) {
    const read = store[method].bind(store);
    store[method] = (appId: string, model: string, key: string) => {
      counts.set(`${method} ${model}`, (counts.get(`${method} ${model}`) ?? 0) + 1);
      return read(appId, model, key);
    };
  }
  return { count: (method, model) => counts.get(`${method} ${model}`) ?? 0, reset: () => counts.clear() };
}

for (const storeKind of ['memory', 'redis'] as const) {
  describe(`reads of one request (${storeKind} store)`, function () {
    this.timeout(30_000);
    const redis = new RedisServer();
    const h = new Harness();
    let app: AppJson;
    let reads: ReturnType<typeof countReads>;
    before(async () => {
      if (storeKind === 'redis') await redis.start();
      await h.start(storeKind === 'redis' ? { REDIS_URL: redis.url } : {});
      app = await h.createApp({ name: 'Reads' });
      reads = countReads(h.stores.oidc);
    });
    after(async () => {
      await h.stop();
      if (storeKind === 'redis') await redis.destroy();
    });

    /** A sign-in up to the resume, which is left to the caller. */
    async function upToResume(email: string) {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { link } = await h.requestLink(browser, login.page, email);
      const confirm = await browser.navigate(link);
      const form = formOn(confirm, '/link');
      const confirmed = await browser.request(new URL(form.action, confirm.url).href, { form: form.fields });
      expect(confirmed.status).to.equal(303);
      return { browser, login, resumeUrl: new URL(confirmed.headers.get('location')!, confirmed.url).href };
    }

    it('reads the interaction once at the resume and the session once at the code exchange; the tokens are right', async () => {
      const { browser, login, resumeUrl } = await upToResume('once@example.com');
      reads.reset();
      const callback = await browser.navigate(resumeUrl, {}, login.redirectUri);
      expect(callback.url.startsWith(login.redirectUri)).to.equal(true);
      // Read by the redirect check, then by the engine's resume: once from the store.
      expect(reads.count('find', 'Interaction')).to.equal(1);
      reads.reset();
      const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce });
      // Read by the engine's session binding, then for the ID token's sid: once.
      expect(reads.count('findByUid', 'Session')).to.equal(1);
      expect(tokens.claims()?.sub).to.equal('once@example.com');
      // The same resume again finds the interaction gone (it was destroyed at the first).
      const again = await browser.navigate(resumeUrl, {}, login.redirectUri);
      expect(again.url.startsWith(login.redirectUri) && new URL(again.url).searchParams.has('code')).to.equal(false);
    });

    it('reads the interaction once when a link is confirmed (the login page, then the engine\'s result); a second confirmation is refused', async () => {
      const browser = new Browser();
      const login = await h.startLogin(app, browser);
      const { link } = await h.requestLink(browser, login.page, 'confirm-once@example.com');
      const confirm = await browser.navigate(link);
      const form = formOn(confirm, '/link');
      reads.reset();
      const confirmed = await browser.request(new URL(form.action, confirm.url).href, { form: form.fields });
      expect(confirmed.status).to.equal(303);
      // Read by the page's check of this browser's attempt, then by the engine's interactionResult.
      expect(reads.count('find', 'Interaction')).to.equal(1);
      // The result was saved (a write): the resume reads it again, and signs in.
      const callback = await browser.navigate(new URL(confirmed.headers.get('location')!, confirmed.url).href, {}, login.redirectUri);
      expect(new URL(callback.url).searchParams.has('code')).to.equal(true);
      const replay = await browser.request(new URL(form.action, confirm.url).href, { form: form.fields });
      expect(replay.status).to.not.equal(303);
    });

    it('reads the session once where nothing is kept for a second read (userinfo, a new authorization)', async () => {
      const { browser, login, resumeUrl } = await upToResume('session-once@example.com');
      const callback = await browser.navigate(resumeUrl, {}, login.redirectUri);
      const tokens = await oidc.authorizationCodeGrant(login.config, new URL(callback.url), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce });
      reads.reset();
      // The access token ends with the session (A67: userinfo reads it once, by uid).
      const claims = await oidc.fetchUserInfo(login.config, tokens.access_token, tokens.claims()!.sub);
      expect(claims.email).to.equal('session-once@example.com');
      expect(reads.count('findByUid', 'Session')).to.equal(1);
      // A second authorization in the same browser reads its session once, by id, and signs in at once.
      reads.reset();
      const again = await browser.navigate(oidc.buildAuthorizationUrl(login.config, { redirect_uri: login.redirectUri, scope: 'openid email', prompt: 'none', state: 's2', nonce: 'n2', code_challenge: await oidc.calculatePKCECodeChallenge(login.verifier), code_challenge_method: 'S256' }).href, {}, login.redirectUri);
      expect(new URL(again.url).searchParams.has('code')).to.equal(true);
      expect(reads.count('find', 'Session')).to.equal(1);
    });

    it('shares nothing between requests: parallel sign-ins each get their own account', async () => {
      const people = Array.from({ length: 6 }, (_, i) => `parallel-${i}@example.com`);
      const started = await Promise.all(people.map((email) => upToResume(email)));
      const signedIn = await Promise.all(
        started.map(async ({ browser, login, resumeUrl }) => {
          const callback = await browser.navigate(resumeUrl, {}, login.redirectUri);
          return oidc.authorizationCodeGrant(login.config, new URL(callback.url), { pkceCodeVerifier: login.verifier, expectedState: login.state, expectedNonce: login.nonce });
        }),
      );
      expect(signedIn.map((tokens) => tokens.claims()?.sub)).to.deep.equal(people);
    });
  });
}
