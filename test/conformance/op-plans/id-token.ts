// The checks the official suite applies to every ID token (its PerformStandardIdTokenChecks
// sequence and the extra ones of oidcc-server), here with jose against the app's JWKS.
// openid-client has already validated the token as an RP does; these add what a
// conformance check looks at beyond that: the signature itself, kid, the registered
// algorithm, timestamps within five minutes, and at_hash/c_hash when present.
import { expect } from 'chai';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import type { SigningAlg } from './variants.ts';

export interface IdToken {
  readonly raw: string;
  readonly header: { alg?: string; kid?: string; typ?: string };
  readonly claims: JWTPayload & Record<string, unknown>;
}

export interface IdTokenExpectations {
  readonly issuer: string;
  readonly clientId: string;
  readonly alg: SigningAlg;
  readonly jwks: JSONWebKeySet;
  /** The nonce sent, if one was. */
  readonly nonce?: string | undefined;
  /** The access token issued alongside, for at_hash. */
  readonly accessToken?: string | undefined;
  /** The authorization code, for c_hash. */
  readonly code?: string | undefined;
}

/** The official suite's allowance for clock differences. */
export const SKEW_SECONDS = 300;

/** OpenID Connect Core §3.1.3.6: left half of the hash of the token's algorithm, base64url. */
export function leftHalfHash(alg: string, value: string): string {
  const digest = createHash(`sha${alg.slice(2)}`).update(value).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

export async function checkIdToken(raw: string, expected: IdTokenExpectations): Promise<IdToken> {
  const header = decodeProtectedHeader(raw) as IdToken['header'];
  // OpenID Connect Core §10.1; the suite requires kid always (oidcc-idtoken-signature).
  expect(header.kid, 'ID token header kid').to.be.a('string').that.is.not.empty;
  expect(header.alg, 'ID token alg is the one the app registered').to.equal(expected.alg);
  const { payload } = await jwtVerify(raw, createLocalJWKSet(expected.jwks), {
    issuer: expected.issuer,
    audience: expected.clientId,
    algorithms: [expected.alg],
    clockTolerance: SKEW_SECONDS,
  });
  const claims = payload as IdToken['claims'];
  const now = Math.floor(Date.now() / 1000);
  expect(claims.sub, 'sub').to.be.a('string').that.is.not.empty;
  expect(claims.exp, 'exp').to.be.a('number').within(now - SKEW_SECONDS, now + 50 * 365 * 86400);
  expect(claims.iat, 'iat within five minutes of now').to.be.a('number').within(now - SKEW_SECONDS, now + SKEW_SECONDS);
  if (Array.isArray(claims.aud) && claims.aud.length > 1) expect(claims.azp, 'azp with several audiences').to.equal(expected.clientId);
  if (claims.auth_time !== undefined) {
    expect(claims.auth_time, 'auth_time').to.be.a('number').within(now - 365 * 86400, now + SKEW_SECONDS);
  }
  if (claims.acr !== undefined) expect(claims.acr, 'acr').to.be.a('string').that.is.not.empty;
  if (claims.updated_at !== undefined) expect(claims.updated_at, 'updated_at').to.be.a('number');
  if (expected.nonce !== undefined) expect(claims.nonce, 'nonce').to.equal(expected.nonce);
  if (claims.at_hash !== undefined && expected.accessToken) {
    expect(claims.at_hash, 'at_hash').to.equal(leftHalfHash(expected.alg, expected.accessToken));
  }
  if (claims.c_hash !== undefined && expected.code) expect(claims.c_hash, 'c_hash').to.equal(leftHalfHash(expected.alg, expected.code));
  return { raw, header, claims };
}

/** Claims the suite expects in an ID token whatever was asked (EnsureIdTokenDoesNotContainNonRequestedClaims). */
const ALWAYS_ALLOWED = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'at_hash', 'c_hash', 'nbf', 'jti', 'sid', 's_hash'];

/** The claims of each standard scope (OpenID Connect Core §5.4). */
export const SCOPE_CLAIMS: Readonly<Record<string, readonly string[]>> = {
  profile: ['name', 'family_name', 'given_name', 'middle_name', 'nickname', 'preferred_username', 'profile', 'picture', 'website', 'gender', 'birthdate', 'zoneinfo', 'locale', 'updated_at'],
  email: ['email', 'email_verified'],
  address: ['address'],
  phone: ['phone_number', 'phone_number_verified'],
};

/** ID token claims neither always expected nor belonging to a requested scope. */
export function unrequestedClaims(claims: Record<string, unknown>, scope: string): string[] {
  const allowed = new Set([...ALWAYS_ALLOWED, ...scope.split(' ').flatMap((s) => SCOPE_CLAIMS[s] ?? [])]);
  return Object.keys(claims).filter((c) => !allowed.has(c));
}
