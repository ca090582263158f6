// An authorization code used twice: RFC 6749 §4.1.2 and RFC 9700 §4.2.4 say the second
// use revokes the tokens the first one got. A replay that comes later is the engine's own
// case; the one tested here is the race, two uses at once, where both read the code
// before either consumed it (test/helpers/race.ts makes it happen every time).
import { expect } from 'chai';
import * as oidc from 'openid-client';
import { openMemoryStores } from '../../src/storage/memory/memory-stores.ts';
import type { Stores } from '../../src/storage/ports.ts';
import { bothReadBeforeEitherUses } from '../helpers/race.ts';
import { Engine } from '../engine/engine-fixture.ts';

async function oauthError(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'no error',
    (err: { error?: unknown }) => err.error,
  );
}

describe('a code used twice at once', function () {
  this.timeout(30_000);
  const e = new Engine();
  let stores: Stores;
  before(async () => {
    const memory = openMemoryStores();
    stores = { ...memory, oidc: bothReadBeforeEitherUses(memory.oidc, 'AuthorizationCode') };
    await e.start({ stores });
  });
  after(async () => {
    await e.stop();
    await stores.close();
  });

  it('gives tokens to one use, refuses the other, and revokes what the first got', async () => {
    const { config, exchange } = await e.authorize('twice@example.com', 'openid email offline_access');
    const [first, second] = await Promise.allSettled([exchange(), exchange()]);
    const won = [first, second].filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const lost = [first, second].filter((r) => r.status === 'rejected').map((r) => (r.reason as { error?: unknown }).error);
    expect(won, 'exactly one use gets tokens').to.have.length(1);
    expect(lost).to.deep.equal(['invalid_grant']);

    const tokens = won[0]!;
    expect((await oidc.tokenIntrospection(config, tokens.access_token)).active, 'access token').to.equal(false);
    const userinfo = await fetch(`${e.issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    expect(userinfo.status, 'userinfo').to.equal(401);
    expect(await oauthError(oidc.refreshTokenGrant(config, tokens.refresh_token!))).to.equal('invalid_grant');
  });
});
