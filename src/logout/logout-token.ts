// The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4: a JWT the app can
// verify against the issuer's JWKS exactly as it verifies ID tokens (same key, same
// algorithm), but which no ID token validator accepts by mistake: its header says
// `typ: logout+jwt`, it has the logout event and no nonce.
import { randomUUID } from 'node:crypto';
import { CompactSign, importJWK, type JWK } from 'jose';
import type { Es512Signer } from '../keys/native-signer.ts';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Seconds a logout token is valid: long enough for the app's clock to differ a little,
 * short enough that a token caught in transit is worth nothing soon. Each delivery attempt
 * signs a new one, so a retry minutes later is not refused as expired.
 */
export const LOGOUT_TOKEN_TTL = 120;

export interface LogoutTokenClaims {
  readonly issuer: string;
  /** The client_id of the client told: the only audience. */
  readonly clientId: string;
  /** The account (`sub` of its ID tokens). */
  readonly subject: string;
  /** The session (`sid` of its ID tokens); absent: every session of `subject` at the app. */
  readonly sid?: string | undefined;
}

/**
 * Signs the token with `key`, a private JWK carrying its `alg` and `kid`. A fresh `jti`
 * each time: two attempts are two tokens, so an app that refuses a jti it has seen does
 * not refuse the retry of an attempt whose answer was lost. An ES512 key is signed with
 * by the native signer when the process runs it (src/keys/native-signer.ts), as its ID
 * tokens are.
 */
export async function signLogoutToken(claims: LogoutTokenClaims, key: Readonly<Record<string, unknown>>, nowMs: number, es512?: Es512Signer): Promise<string> {
  const alg = String(key.alg);
  const iat = Math.floor(nowMs / 1000);
  const header = { alg, kid: String(key.kid), typ: 'logout+jwt' };
  const payload = {
    events: { [LOGOUT_EVENT]: {} },
    ...(claims.sid === undefined ? {} : { sid: claims.sid }),
    iss: claims.issuer,
    aud: claims.clientId,
    sub: claims.subject,
    iat,
    exp: iat + LOGOUT_TOKEN_TTL,
    jti: randomUUID(),
  };
  if (alg === 'ES512' && es512?.kind === 'native') {
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    return `${input}.${base64url(await es512.importKey(key).sign(Buffer.from(input)))}`;
  }
  return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(await importJWK(key as JWK, alg));
}

const base64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');
