// Checks the official suite's conditions make on values other than ID tokens: token
// entropy, UserInfo responses, the JWKS and the discovery document.
import { expect } from 'chai';
import type { JSONWebKeySet } from 'jose';

/** Shannon entropy of the characters of `value` times its length, as the suite estimates it. */
function estimatedEntropyBits(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / value.length) * Math.log2(n / value.length);
  return perChar * value.length;
}

/**
 * RFC 6749 §10.10 / RFC 6819 §5.1.4.2.2: at least 128 bits; the suite accepts an estimate
 * above 96 bits, and at least 128 bits of length. Only visible ASCII (RFC 6749 Appendix A).
 */
export function expectUnguessable(value: string, what: string): void {
  expect(/^[\x20-\x7E]+$/.test(value), `${what}: visible ASCII only`).to.equal(true);
  expect(Buffer.byteLength(value) * 8, `${what}: length in bits`).to.be.at.least(128);
  expect(estimatedEntropyBits(value), `${what}: estimated entropy in bits`).to.be.above(96);
}

/** OpenID Connect Core §5.1 types of the standard claims Postern can release. */
const CLAIM_TYPES: Readonly<Record<string, string>> = { sub: 'string', email: 'string', email_verified: 'boolean', updated_at: 'number', name: 'string' };

/** A UserInfo response (Core §5.3.2): sub, the same as the ID token's, and standard claims of the right types. */
export function expectUserInfo(body: Record<string, unknown> | undefined, idTokenSub: unknown): Record<string, unknown> {
  expect(body, 'UserInfo JSON').to.be.an('object');
  expect(body!.sub, 'UserInfo sub is the ID token sub').to.equal(idTokenSub);
  for (const [claim, type] of Object.entries(CLAIM_TYPES)) {
    if (body![claim] !== undefined) expect(typeof body![claim], `UserInfo ${claim}`).to.equal(type);
  }
  return body!;
}

/**
 * The OP's JWKS as the suite validates it in every module's setup: keys with kid, kids
 * distinct, no private members, use sig, and each key complete for its type.
 */
export function expectValidJwks(jwks: JSONWebKeySet): void {
  expect(jwks.keys, 'JWKS keys').to.be.an('array').that.is.not.empty;
  const kids = jwks.keys.map((k) => k.kid);
  for (const key of jwks.keys) {
    expect(key.kid, 'every key has a kid (Core §10.1)').to.be.a('string').that.is.not.empty;
    for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key, `public key only: ${key.kid}`).not.to.have.property(member);
    if (key.use !== undefined) expect(key.use, `use of ${key.kid}`).to.equal('sig');
    const required = key.kty === 'RSA' ? ['n', 'e'] : key.kty === 'EC' ? ['crv', 'x', 'y'] : key.kty === 'OKP' ? ['crv', 'x'] : undefined;
    expect(required, `key type of ${key.kid}`).to.not.equal(undefined);
    for (const member of required!) expect(key, `${key.kty} key ${key.kid}`).to.have.property(member);
  }
  expect(new Set(kids).size, 'distinct kids (RFC 7517 §4.5)').to.equal(kids.length);
}

/**
 * Metadata names registered for authorization servers and OpenID Providers (IANA "OAuth
 * Authorization Server Metadata"; OpenID Connect Discovery, Session Management and the
 * logout specs): anything else is flagged as the suite flags unknown parameters.
 */
const REGISTERED_METADATA = new Set(
  [
    'issuer authorization_endpoint token_endpoint jwks_uri registration_endpoint scopes_supported response_types_supported',
    'response_modes_supported grant_types_supported token_endpoint_auth_methods_supported token_endpoint_auth_signing_alg_values_supported',
    'service_documentation ui_locales_supported op_policy_uri op_tos_uri revocation_endpoint revocation_endpoint_auth_methods_supported',
    'revocation_endpoint_auth_signing_alg_values_supported introspection_endpoint introspection_endpoint_auth_methods_supported',
    'introspection_endpoint_auth_signing_alg_values_supported code_challenge_methods_supported signed_metadata device_authorization_endpoint',
    'tls_client_certificate_bound_access_tokens mtls_endpoint_aliases nfv_token_signing_alg_values_supported nfv_token_encryption_alg_values_supported',
    'nfv_token_encryption_enc_values_supported userinfo_endpoint acr_values_supported subject_types_supported id_token_signing_alg_values_supported',
    'id_token_encryption_alg_values_supported id_token_encryption_enc_values_supported userinfo_signing_alg_values_supported',
    'userinfo_encryption_alg_values_supported userinfo_encryption_enc_values_supported request_object_signing_alg_values_supported',
    'request_object_encryption_alg_values_supported request_object_encryption_enc_values_supported display_values_supported claim_types_supported',
    'claims_supported claims_locales_supported claims_parameter_supported request_parameter_supported request_uri_parameter_supported',
    'require_request_uri_registration require_signed_request_object pushed_authorization_request_endpoint require_pushed_authorization_requests',
    'introspection_signing_alg_values_supported introspection_encryption_alg_values_supported introspection_encryption_enc_values_supported',
    'authorization_response_iss_parameter_supported authorization_signing_alg_values_supported authorization_encryption_alg_values_supported',
    'authorization_encryption_enc_values_supported dpop_signing_alg_values_supported backchannel_logout_supported backchannel_logout_session_supported',
    'frontchannel_logout_supported frontchannel_logout_session_supported end_session_endpoint check_session_iframe prompt_values_supported',
    'backchannel_token_delivery_modes_supported backchannel_authentication_endpoint backchannel_authentication_request_signing_alg_values_supported',
    'backchannel_user_code_parameter_supported authorization_details_types_supported grant_management_actions_supported grant_management_endpoint',
    'verified_claims_supported trust_frameworks_supported evidence_supported claims_in_verified_claims_supported',
  ]
    .join(' ')
    .split(' '),
);

export function unregisteredMetadata(metadata: Record<string, unknown>): string[] {
  return Object.keys(metadata).filter((name) => !REGISTERED_METADATA.has(name));
}

/** RFC 8414 §2 / Discovery §3 value types: URLs for endpoints, arrays of strings or booleans for what is supported. */
export function expectMetadataTypes(metadata: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(metadata)) {
    if (name === 'issuer' || name === 'jwks_uri' || name.endsWith('_endpoint')) {
      expect(typeof value === 'string' && URL.canParse(value), `${name} is a URL`).to.equal(true);
    } else if (name.endsWith('_supported') && typeof value !== 'boolean') {
      expect(Array.isArray(value) && value.every((v) => typeof v === 'string'), `${name} is an array of strings`).to.equal(true);
    }
  }
}
