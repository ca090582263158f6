// Accounts are email addresses; `sub` is the address, as in the hosted service Postern
// follows. An account exists only after its owner opened a valid link, so an unknown
// `sub` (e.g. a token minted before the app was purged) yields no account and no claims.
import { randomUUID } from 'node:crypto';
import type { FindAccount } from 'oidc-provider';
import type { AccountStore } from '../storage/ports.ts';
import { accessTokenHashClaim, sessionIdClaim, unavailable } from './engine.ts';

export function findAccountIn(accounts: AccountStore, appId: string): FindAccount {
  return async (ctx, sub) => {
    const account = await accounts.find(appId, sub).catch(unavailable);
    if (!account) return undefined;
    return {
      accountId: account.email,
      async claims(use) {
        const base = { sub: account.email, email: account.email, email_verified: true };
        if (use !== 'id_token') return base;
        // Claims Postern puts in every ID token beyond the engine's own: a unique id,
        // what the token is for, not-before (= issue time), and sid and at_hash, which the
        // engine itself gives only some ID tokens (engine.ts, A3 and A4).
        return {
          ...(await sessionIdClaim(ctx)),
          ...base,
          jti: randomUUID(),
          token_use: 'id',
          // The engine's own clock, which sets `iat` (not the injected Clock tests move).
          nbf: Math.floor(Date.now() / 1000),
          ...accessTokenHashClaim(ctx),
        };
      },
    };
  };
}
