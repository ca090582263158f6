// The middlewares Postern puts around the engine pass a request they have nothing to do
// for with the engine's own promise: no async frame, no promise of their own. An
// authorization request (the browser's first step of every sign-in) is the case that
// matters; what they do do is checked here too, so a pass cannot hide a skipped check.
import { expect } from 'chai';
import Koa, { type Context } from 'koa';
import { PosternError } from '../../src/errors.ts';
import { formPostInOurLook } from '../../src/oidc/form-post-page.ts';
import { offlineAccessImpliesConsent } from '../../src/oidc/offline-access.ts';
import { postedRequests } from '../../src/oidc/posted-request.ts';
import { keysBeforeRegistration } from '../../src/oidc/registrable-algorithms.ts';
import { AUTHORIZATION_PATH, REGISTRATION_PATH } from '../../src/oidc/shared-configuration.ts';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { AppRecord } from '../../src/storage/ports.ts';
import { formPostPage } from '../../interactions/views/pages.ts';

const AUTHORIZE = `${AUTHORIZATION_PATH}?client_id=app&redirect_uri=https%3A%2F%2Frp.example%2Fcb&response_type=code&scope=openid+email&state=s&code_challenge=c&code_challenge_method=S256`;

/** A Koa context of a request as the engine's middleware sees it (the path under the issuer). */
function contextOf(method: string, url: string, headers: Record<string, string> = {}): Context {
  const req = { method, url, headers: { host: 'localhost', ...headers }, socket: {} };
  const res = { getHeader() {}, setHeader() {}, removeHeader() {}, hasHeader: () => false };
  return new Koa().createContext(req as never, res as never) as unknown as Context;
}

/** The engine, as far as these middlewares can tell: one promise, the same one every call. */
function engine() {
  const answer = Promise.resolve();
  let calls = 0;
  return {
    next: () => {
      calls++;
      return answer;
    },
    answer,
    calls: () => calls,
  };
}

const app = { id: 'app', name: 'App' } as unknown as AppRecord;
const posted = postedRequests({ appId: 'app', issuer: 'https://id.example/apps/app', documents: openMemoryStores().oidc });
const formPost = formPostInOurLook(app, formPostPage);
const keys = keysBeforeRegistration({ apps: { get: () => Promise.reject(new Error('not read')), addSigningKeys: () => Promise.reject(new Error('not added')) }, kek: Buffer.alloc(32), clock: { now: () => 0 } });

describe('middlewares around the engine: what they pass, they pass at once', () => {
  const spellings = [AUTHORIZE, AUTHORIZE.replace(AUTHORIZATION_PATH, AUTHORIZATION_PATH.toUpperCase()), AUTHORIZE.replace('?', '/?')];

  it('an authorization request goes through posted requests and the offline_access rewrite with the engine\'s own promise, in every spelling', () => {
    for (const url of spellings) {
      for (const middleware of [posted, offlineAccessImpliesConsent]) {
        const e = engine();
        expect(middleware(contextOf('GET', url), e.next), url).to.equal(e.answer);
        expect(e.calls()).to.equal(1);
      }
    }
  });

  it('rewrites for offline_access all the same, at once', async () => {
    const ctx = contextOf('GET', `${AUTHORIZE.replace('scope=openid+email', 'scope=openid+offline_access')}`);
    const e = engine();
    await offlineAccessImpliesConsent(ctx, e.next);
    expect(ctx.query.prompt).to.equal('consent');
    expect(e.calls()).to.equal(1);
  });

  it('still takes a posted handle, and refuses one that is no good before the engine runs', async () => {
    for (const url of [`${AUTHORIZATION_PATH}?posted=not-a-handle`, `${AUTHORIZATION_PATH.toUpperCase()}?posted=${'a'.repeat(43)}`, `${AUTHORIZATION_PATH}?posted=x&posted=y`]) {
      const e = engine();
      const error = await Promise.resolve(posted(contextOf('GET', url), e.next)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(error, url).to.be.instanceOf(PosternError);
      expect((error as PosternError).status).to.equal(400);
      expect(e.calls(), url).to.equal(0);
    }
  });

  it('a request of another method than GET passes the form_post drawing with the engine\'s own promise; a GET is drawn after it', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const e = engine();
      expect(formPost(contextOf(method, AUTHORIZATION_PATH), e.next), method).to.equal(e.answer);
    }
    const ctx = contextOf('GET', AUTHORIZE);
    const e = engine();
    const answered = formPost(ctx, e.next);
    expect(answered).to.not.equal(e.answer);
    ctx.body = '<title>Submitting Callback</title><form method="post" action="https://rp.example/cb"><input type="hidden" name="code" value="c"/></form>';
    await answered;
    expect(ctx.body).to.include('https://rp.example/cb').and.not.include('<title>Submitting Callback</title>');
  });

  it('adds no keys and reads nothing for anything but a registration or a client update, without a promise', () => {
    for (const [method, url] of [['GET', AUTHORIZE], ['POST', '/token'], ['GET', REGISTRATION_PATH], ['PUT', '/token']] as const) {
      expect(keys(contextOf(method, url), 'app', url.split('?')[0]!, undefined as never), `${method} ${url}`).to.equal(false);
    }
    // A registration is looked at (here: its body is not JSON, so no keys): through a promise.
    const registering = keys(contextOf('POST', REGISTRATION_PATH, { 'content-type': 'text/plain', 'content-length': '0' }), 'app', REGISTRATION_PATH, undefined as never);
    expect(registering).to.be.instanceOf(Promise);
    return (registering as Promise<boolean>).then((added) => expect(added).to.equal(false));
  });
});
