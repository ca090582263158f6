// The logout token of OpenID Connect Back-Channel Logout 1.0 §2.4: a JWT the app can
// verify against the issuer's JWKS exactly as it verifies ID tokens (same key, same
// algorithm), but which no ID token validator accepts by mistake: its header says
// `typ: logout+jwt`, it has the logout event and no nonce.
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT, type JWK } from 'jose';

export const LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/**
 * Seconds a logout token is valid: long enough for the app's clock to differ a little,
 * short enough that a token caught in transit is worth nothing soon. Each delivery attempt
 * signs a new one, so a retry minutes later is not refused as expired.
 */
export const LOGOUT_TOKEN_TTL = 120;

export interface LogoutTokenClaims {
  readonly issuer: string;
  /** The app's client_id: the only audience. */
  readonly clientId: string;
  /** The account (`sub` of its ID tokens). */
  readonly subject: string;
  /** The session (`sid` of its ID tokens); absent: every session of `subject` at the app. */
  readonly sid?: string | undefined;
}

/**
 * Signs the token with `key`, a private JWK carrying its `alg` and `kid`. A fresh `jti`
 * each time: two attempts are two tokens, so an app that refuses a jti it has seen does
 * not refuse the retry of an attempt whose answer was lost.
 */
export async function signLogoutToken(claims: LogoutTokenClaims, key: Readonly<Record<string, unknown>>, nowMs: number): Promise<string> {
  const alg = String(key.alg);
  const iat = Math.floor(nowMs / 1000);
  return new SignJWT({ events: { [LOGOUT_EVENT]: {} }, ...(claims.sid === undefined ? {} : { sid: claims.sid }) })
    .setProtectedHeader({ alg, kid: String(key.kid), typ: 'logout+jwt' })
    .setIssuer(claims.issuer)
    .setAudience(claims.clientId)
    .setSubject(claims.subject)
    .setIssuedAt(iat)
    .setExpirationTime(iat + LOGOUT_TOKEN_TTL)
    .setJti(randomUUID())
    .sign(await importJWK(key as JWK, alg));
}
