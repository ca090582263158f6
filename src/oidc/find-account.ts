// Accounts are email addresses; `sub` is the address, as in the hosted service Postern
// follows. An account exists only after its owner opened a valid link, so an unknown
// `sub` (e.g. a token minted before the app was purged) yields no account and no claims.
import { randomUUID } from 'node:crypto';
import type { FindAccount, KoaContextWithOIDC } from 'oidc-provider';
import type { AccountStore } from '../storage/ports.ts';
import { unavailable } from './adapter.ts';

/**
 * The engine puts `sid` in an ID token only for clients registered for back-channel
 * logout; product.md wants it in every one. The session the code or refresh token came
 * from knows the sid it assigned to this client.
 */
async function sessionId(ctx: KoaContextWithOIDC | undefined): Promise<{ sid?: string }> {
  const source = (ctx?.oidc?.entities?.AuthorizationCode ?? ctx?.oidc?.entities?.RefreshToken) as { sessionUid?: string } | undefined;
  const clientId = ctx?.oidc?.client?.clientId;
  if (!source?.sessionUid || !clientId) return {};
  const session = await ctx.oidc.provider.Session.findByUid(source.sessionUid);
  const sid = session?.sidFor(clientId);
  return sid ? { sid } : {};
}

export function findAccountIn(accounts: AccountStore, appId: string): FindAccount {
  return async (ctx, sub) => {
    const account = await accounts.find(appId, sub).catch(unavailable);
    if (!account) return undefined;
    return {
      accountId: account.email,
      async claims(use) {
        const base = { sub: account.email, email: account.email, email_verified: true };
        if (use !== 'id_token') return base;
        // Claims product.md asks of every ID token beyond the engine's own: a unique id,
        // what the token is for, not-before (= issue time), sid and at_hash. The engine puts
        // at_hash only in front-channel ID tokens; given the access token value here, it
        // hashes it itself with the ID token's algorithm (models/id_token.js).
        const accessToken = ctx?.oidc?.entities?.AccessToken as { jti?: string } | undefined;
        return {
          ...(await sessionId(ctx)),
          ...base,
          jti: randomUUID(),
          token_use: 'id',
          nbf: Math.floor(Date.now() / 1000),
          ...(accessToken?.jti ? { at_hash: accessToken.jti } : {}),
        };
      },
    };
  };
}
