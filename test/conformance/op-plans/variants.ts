// The apps every module runs against: the two ID token algorithms Postern signs with, each
// for a public client (PKCE, no secret) and a confidential one. The confidential apps
// authenticate with client_secret_basic and send no PKCE, which is how the certification
// plans run a static confidential client.

export type SigningAlg = 'ES512' | 'RS256';

export interface Variant {
  /** Column title in the table and part of every test's name. */
  readonly name: string;
  readonly alg: SigningAlg;
  readonly confidential: boolean;
  /** Admin API fields of every app of this variant (beyond names and URIs). */
  readonly fields: Readonly<Record<string, unknown>>;
}

const confidential = { token_endpoint_auth_method: 'client_secret_basic', require_pkce: false };

export const VARIANTS: readonly Variant[] = [
  // ES512 is Postern's default: this app is created without naming an algorithm.
  { name: 'ES512 public', alg: 'ES512', confidential: false, fields: {} },
  { name: 'ES512 confidential', alg: 'ES512', confidential: true, fields: confidential },
  { name: 'RS256 public', alg: 'RS256', confidential: false, fields: { id_token_signed_response_alg: 'RS256' } },
  { name: 'RS256 confidential', alg: 'RS256', confidential: true, fields: { ...confidential, id_token_signed_response_alg: 'RS256' } },
];

/** Client URIs the apps register. Nothing listens there: the user agent stops when it is sent to one. */
export const CLIENT = {
  redirectUri: 'http://localhost:8080/callback',
  /** A second registered redirect URI (the plans register two for the redirect_uri modules). */
  secondRedirectUri: 'http://localhost:8080/callback2',
  postLogoutRedirectUri: 'http://localhost:8080/post_logout_redirect',
} as const;

/**
 * Sign-in link limits high enough for a whole run from one address: the modules sign in
 * over and over from 127.0.0.1, which the default per-IP budget would stop.
 */
export const RUN_LIMITS = { max_links_per_address: 1000, max_links_per_ip: 100000, max_links_per_network: 10000000 } as const;
