// Validation of admin input for apps. Every failure names the field; nothing is stored
// until the whole body has passed.
import { checkSettings, DEFAULT_SETTINGS, SETTING_RANGES } from '../apps/app-settings.ts';
import { PosternError } from '../errors.ts';
import type { AppChanges, AppEndpoints, ClientChoices, NewApp } from '../apps/apps-service.ts';
import type { AppBranding } from '../apps/branding.ts';
import { SIGNING_ALGS } from '../apps/client-options.ts';
import type { AppRecord, AppSettings, SigningAlg, TokenEndpointAuthMethod } from '../storage/ports.ts';
import { parseOpenRegistration } from './open-registration-input.ts';
import { endpointUriProblem, redirectUriProblem } from './redirect-uris.ts';
import { BRANDING_INPUT_FIELDS, brandingFrom } from './branding-input.ts';

/** What the rules for registered URIs depend on. */
export interface InputRules {
  /** http on a loopback host for endpoints Postern calls: outside production only. */
  readonly httpLoopbackEndpoints: boolean;
}

export const AUTH_METHODS: readonly TokenEndpointAuthMethod[] = ['none', 'client_secret_basic', 'client_secret_post'];
export const MAX_URIS = 20;

const invalid = (description: string) => new PosternError('bad_request', description);
const invalidUri = (description: string) => new PosternError('invalid_redirect_uri', description);
const invalidMetadata = (description: string) => new PosternError('invalid_client_metadata', description);

/**
 * OpenID Connect Front-Channel Logout is not offered (docs/architecture.md): its hidden
 * iframes need the app's cookies in a third-party context, which browsers now block, so it
 * would fail silently. Registering it is refused in so many words rather than as an
 * unknown field.
 */
export const FRONT_CHANNEL: readonly string[] = ['frontchannel_logout_uri', 'frontchannel_logout_session_required'];

function asObject(body: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('The request body must be a JSON object.');
  }
  for (const key of Object.keys(body)) {
    if (FRONT_CHANNEL.includes(key)) {
      throw invalidMetadata(
        `${key} is not supported: front-channel logout depends on third-party cookies, which browsers block, so it fails silently. ` +
          'Register backchannel_logout_uri instead: Postern posts a logout token to it, with retries.',
      );
    }
    if (!allowed.includes(key)) throw invalid(`Unknown field "${key.slice(0, 64)}". Allowed: ${allowed.join(', ')}.`);
  }
  return body as Record<string, unknown>;
}

export function name(value: unknown): string {
  if (typeof value !== 'string') throw invalid('name must be a string.');
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > 100) throw invalid('name must be 1 to 100 characters.');
  // Control characters and bidi overrides make names misleading on the login page.
  if (/[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(trimmed)) throw invalid('name must not contain control characters.');
  return trimmed;
}

/**
 * A list of URIs for `field`, each allowed by today's rule (redirect-uris.ts) or one of
 * `kept`: the app's stored list, whose URIs registered under an older rule stay allowed
 * as long as the admin keeps them, so other fields stay editable (only newly added URIs
 * must pass).
 */
function uris(value: unknown, field: string, required: boolean, kept: readonly string[] = []): string[] {
  if (!Array.isArray(value)) throw invalidUri(`${field} must be an array of URIs.`);
  if (required && value.length === 0) throw invalidUri(`${field} must contain at least one URI.`);
  if (value.length > MAX_URIS) throw invalidUri(`${field} may contain at most ${MAX_URIS} URIs.`);
  const checked = value.map((uri: unknown, i) => {
    const problem = typeof uri === 'string' && kept.includes(uri) ? undefined : redirectUriProblem(uri);
    if (problem) throw invalidUri(`${field}[${i}] ${problem}.`);
    return uri as string;
  });
  return [...new Set(checked)];
}

function ttl(value: unknown, field: keyof AppSettings): number {
  const [min, max] = SETTING_RANGES[field];
  const unit = field.startsWith('max_') ? '' : ' seconds';
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(`${field} must be an integer${unit ? ' number of seconds' : ''}.`);
  if (value < min || value > max) throw invalid(`${field} must be between ${min} and ${max}${unit}.`);
  return value;
}

function settingsFrom(body: Record<string, unknown>): Partial<AppSettings> {
  const out: Partial<Record<keyof AppSettings, number>> = {};
  for (const field of Object.keys(SETTING_RANGES) as (keyof AppSettings)[]) {
    if (body[field] !== undefined) out[field] = ttl(body[field], field);
  }
  return out;
}

function signingAlg(value: unknown, field: string, orElse = ''): SigningAlg {
  if (typeof value !== 'string' || !SIGNING_ALGS.includes(value as SigningAlg)) {
    throw invalid(`${field} must be one of ${SIGNING_ALGS.join(', ')}${orElse}.`);
  }
  return value as SigningAlg;
}

/** The client's choices in `body` (client-options.ts); null unsets an optional signing algorithm. */
function choicesFrom(body: Record<string, unknown>): ClientChoices {
  const optionalAlg = (field: string) => (body[field] === null ? null : signingAlg(body[field], field, ', or null for unsigned JSON'));
  if (body.require_pkce !== undefined && typeof body.require_pkce !== 'boolean') throw invalid('require_pkce must be true or false.');
  return {
    ...(body.require_pkce !== undefined && { requirePkce: body.require_pkce as boolean }),
    ...(body.id_token_signed_response_alg !== undefined && {
      idTokenSignedResponseAlg: signingAlg(body.id_token_signed_response_alg, 'id_token_signed_response_alg'),
    }),
    ...(body.userinfo_signed_response_alg !== undefined && { userinfoSignedResponseAlg: optionalAlg('userinfo_signed_response_alg') }),
    ...(body.introspection_signed_response_alg !== undefined && {
      introspectionSignedResponseAlg: optionalAlg('introspection_signed_response_alg'),
    }),
  };
}

/** An endpoint URI (endpointUriProblem); null only where it may be removed. */
function endpointUri(value: unknown, field: string, rules: InputRules, removable: boolean): string | null {
  if (value === null && removable) return null;
  const problem = endpointUriProblem(value, rules.httpLoopbackEndpoints);
  if (problem) throw invalidMetadata(`${field} ${problem}.`);
  return value as string;
}

/** The endpoint fields of a body, as given (PATCH: null removes one). */
function endpointsFrom(input: Record<string, unknown>, rules: InputRules, removable: boolean) {
  const out: { -readonly [K in keyof AppEndpoints]?: AppEndpoints[K] | null } = {};
  if (input.backchannel_logout_uri !== undefined) {
    out.backchannelLogoutUri = endpointUri(input.backchannel_logout_uri, 'backchannel_logout_uri', rules, removable);
  }
  if (input.backchannel_logout_session_required !== undefined) {
    if (typeof input.backchannel_logout_session_required !== 'boolean') throw invalidMetadata('backchannel_logout_session_required must be true or false.');
    out.backchannelLogoutSessionRequired = input.backchannel_logout_session_required;
  }
  // null turns open registration off, at creation too (where it is off anyway).
  if (input.open_registration !== undefined) out.openRegistration = parseOpenRegistration(input.open_registration) ?? (removable ? null : undefined);
  if (input.initiate_login_uri !== undefined) {
    out.initiateLoginUri = endpointUri(input.initiate_login_uri, 'initiate_login_uri', { httpLoopbackEndpoints: false }, removable);
  }
  return out;
}

const SETTING_FIELDS = Object.keys(SETTING_RANGES);
const CHOICE_FIELDS = ['require_pkce', 'id_token_signed_response_alg', 'userinfo_signed_response_alg', 'introspection_signed_response_alg'];
const ENDPOINT_FIELDS = ['backchannel_logout_uri', 'backchannel_logout_session_required', 'initiate_login_uri', 'open_registration'];
export const CREATE_FIELDS = ['name', 'redirect_uris', 'post_logout_redirect_uris', 'token_endpoint_auth_method', ...CHOICE_FIELDS, ...ENDPOINT_FIELDS, ...SETTING_FIELDS, ...BRANDING_INPUT_FIELDS];
export const UPDATE_FIELDS = ['name', 'redirect_uris', 'post_logout_redirect_uris', ...CHOICE_FIELDS, ...ENDPOINT_FIELDS, ...SETTING_FIELDS, ...BRANDING_INPUT_FIELDS];

export function parseCreateApp(body: unknown, rules: InputRules): NewApp {
  const input = asObject(body, CREATE_FIELDS);
  if (input.name === undefined) throw invalid('name is required.');
  if (input.redirect_uris === undefined) throw invalidUri('redirect_uris is required.');
  const method = input.token_endpoint_auth_method === undefined ? 'none' : input.token_endpoint_auth_method;
  if (typeof method !== 'string' || !AUTH_METHODS.includes(method as TokenEndpointAuthMethod)) {
    throw invalid(`token_endpoint_auth_method must be one of ${AUTH_METHODS.join(', ')}.`);
  }
  return {
    name: name(input.name),
    redirectUris: uris(input.redirect_uris, 'redirect_uris', true),
    postLogoutRedirectUris:
      input.post_logout_redirect_uris === undefined ? [] : uris(input.post_logout_redirect_uris, 'post_logout_redirect_uris', false),
    tokenEndpointAuthMethod: method as TokenEndpointAuthMethod,
    settings: checkSettings({ ...DEFAULT_SETTINGS, ...settingsFrom(input) }),
    ...choicesFrom(input),
    ...(endpointsFrom(input, rules, false) as AppEndpoints),
    ...(brandingFrom(input, rules, false) as AppBranding),
  };
}

/** `current` is the app as stored: URIs it already has are kept even if refused today. */
export function parseUpdateApp(body: unknown, current: AppRecord, rules: InputRules): AppChanges {
  if (typeof body === 'object' && body !== null && 'token_endpoint_auth_method' in body) {
    throw invalid('token_endpoint_auth_method cannot be changed; create a new app for another client type.');
  }
  const input = asObject(body, UPDATE_FIELDS);
  return {
    settings: settingsFrom(input),
    ...choicesFrom(input),
    ...endpointsFrom(input, rules, true),
    ...brandingFrom(input, rules, true),
    ...(input.name !== undefined && { name: name(input.name) }),
    ...(input.redirect_uris !== undefined && { redirectUris: uris(input.redirect_uris, 'redirect_uris', true, current.redirectUris) }),
    ...(input.post_logout_redirect_uris !== undefined && {
      postLogoutRedirectUris: uris(input.post_logout_redirect_uris, 'post_logout_redirect_uris', false, current.postLogoutRedirectUris),
    }),
  };
}
