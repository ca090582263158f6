// The rules for a further client's metadata (RFC 7591 names), for the admin API and for
// Dynamic Client Registration alike: the same redirect URI allowlist as an app's
// (redirect-uris.ts), https for the URIs the hosted pages link to or show, every URI on
// the hosts an initial access token's (or open registration's) policy allows, back-channel
// logout under the same rules as the default client's, and no front-channel logout. The
// engine then checks the rest (types, grant and response types, algorithms: engine.ts, A10).
import { PosternError } from '../errors.ts';
import type { ClientRecord } from '../storage/ports.ts';
import { onAllowedHost } from '../apps/clients.ts';
import { FRONT_CHANNEL, MAX_URIS, type InputRules } from './app-input.ts';
import { endpointUriProblem, redirectUriProblem } from './redirect-uris.ts';

const invalid = (description: string) => new PosternError('bad_request', description);
const invalidUri = (description: string) => new PosternError('invalid_redirect_uri', description);
const invalidMetadata = (description: string) => new PosternError('invalid_client_metadata', description);

/** What the admin API takes for a client, by its RFC 7591 / OpenID Connect Registration name. */
export const CLIENT_FIELDS = [
  'client_name',
  'redirect_uris',
  'post_logout_redirect_uris',
  'token_endpoint_auth_method',
  'grant_types',
  'response_types',
  'application_type',
  'id_token_signed_response_alg',
  'userinfo_signed_response_alg',
  'introspection_signed_response_alg',
  'backchannel_logout_uri',
  'backchannel_logout_session_required',
  'initiate_login_uri',
  'logo_uri',
  'client_uri',
  'policy_uri',
  'tos_uri',
] as const;

/** Metadata naming one algorithm, encoding, method or type (RFC 7591, OpenID Connect Registration). */
const SINGLE_NAMES = /(_alg|_enc|_method|^application_type)$/;
/** Deeper than any client metadata (a JWK Set's keys are three levels down). */
const MAX_METADATA_DEPTH = 8;

/**
 * A client's metadata as JSON, at most: every client lives in its app's record, which each
 * sign-in reads, and open registration lets anyone add up to max_clients of them. 16 KiB
 * holds twenty long redirect URIs and an inline JWK Set; fifty clients at most stay under
 * a megabyte.
 */
export const MAX_CLIENT_METADATA_BYTES = 16 * 1024;

/** Whether `value` nests objects or arrays deeper than MAX_METADATA_DEPTH (iteratively: a 64 KiB body can nest 30 000 deep). */
function tooDeep(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth >= MAX_METADATA_DEPTH) return true;
    for (const inner of Object.values(item)) stack.push([inner, depth + 1]);
  }
  return false;
}

/** Shown or linked to by the hosted pages: https only, so a page never loads or links anything in clear. */
const DISPLAY_URIS = ['logo_uri', 'client_uri', 'policy_uri', 'tos_uri'];

/**
 * Throws invalid_redirect_uri or invalid_client_metadata, naming the field, unless
 * `metadata` passes Postern's own rules. `hosts`: the policy the client is registered
 * under (its initial access token's, or open registration's), when it has one.
 */
export function checkClientMetadata(metadata: Record<string, unknown>, hosts: readonly string[] | undefined, rules: InputRules): void {
  for (const [key, value] of Object.entries(metadata)) {
    // A single name each: the engine's own check of these stringifies what it is given
    // before testing its type, and an array nested thousands deep overflows its stack (500).
    if (value !== undefined && value !== null && SINGLE_NAMES.test(key) && typeof value !== 'string') throw invalidMetadata(`${key} must be a string.`);
    if (tooDeep(value)) throw invalidMetadata(`${key} is nested too deeply.`);
  }
  // Measured once the depth is known to be small: stringifying is recursive.
  if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_CLIENT_METADATA_BYTES) {
    throw invalidMetadata(`The client's metadata may be at most ${MAX_CLIENT_METADATA_BYTES / 1024} KiB as JSON.`);
  }
  for (const key of FRONT_CHANNEL) {
    if (metadata[key] !== undefined) {
      throw invalidMetadata(`${key} is not supported: front-channel logout depends on third-party cookies, which browsers block. Register backchannel_logout_uri instead.`);
    }
  }
  backchannelLogout(metadata, hosts, rules);
  const name = metadata.client_name;
  if (name !== undefined && (typeof name !== 'string' || name.trim().length < 1 || name.length > 100 || /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(name))) {
    throw invalidMetadata('client_name must be 1 to 100 characters, without control characters.');
  }
  uriList(metadata.redirect_uris, 'redirect_uris', true, hosts);
  if (metadata.post_logout_redirect_uris !== undefined) uriList(metadata.post_logout_redirect_uris, 'post_logout_redirect_uris', false, hosts);
  for (const field of ['initiate_login_uri', ...DISPLAY_URIS]) {
    const value = metadata[field];
    if (value === undefined) continue;
    const problem = endpointUriProblem(value, false);
    if (problem) throw invalidMetadata(`${field} ${problem}.`);
    // Shown in the sign-in mail and on the hosted pages: a registrant may not put a host
    // there that the admin did not list (phishing links, a tracking logo).
    if (hosts && !onAllowedHost(value as string, hosts)) throw invalidMetadata(`${field} must be on one of the hosts this registration allows (${hosts.join(', ')}).`);
  }
}

/**
 * The default client's rules (app-input.ts): https, or http on a loopback host outside
 * production. Postern itself posts to this URI, so under a registration policy it must be
 * on the policy's hosts too: a client registered under a policy never makes Postern call
 * a host the admin did not list.
 */
function backchannelLogout(metadata: Record<string, unknown>, hosts: readonly string[] | undefined, rules: InputRules): void {
  const uri = metadata.backchannel_logout_uri;
  if (uri !== undefined) {
    const problem = endpointUriProblem(uri, rules.httpLoopbackEndpoints);
    if (problem) throw invalidMetadata(`backchannel_logout_uri ${problem}.`);
    if (hosts && !onAllowedHost(uri as string, hosts)) throw invalidMetadata(`backchannel_logout_uri must be on one of the hosts this registration allows (${hosts.join(', ')}).`);
  }
  const required = metadata.backchannel_logout_session_required;
  if (required !== undefined && typeof required !== 'boolean') throw invalidMetadata('backchannel_logout_session_required must be true or false.');
}

function uriList(value: unknown, field: string, required: boolean, hosts: readonly string[] | undefined): void {
  if (value === undefined && required) throw invalidUri(`${field} is required.`);
  if (!Array.isArray(value)) throw invalidUri(`${field} must be an array of URIs.`);
  if (required && value.length === 0) throw invalidUri(`${field} must contain at least one URI.`);
  if (value.length > MAX_URIS) throw invalidUri(`${field} may contain at most ${MAX_URIS} URIs.`);
  value.forEach((uri: unknown, i) => {
    const problem = redirectUriProblem(uri);
    if (problem) throw invalidUri(`${field}[${i}] ${problem}.`);
    if (hosts && !onAllowedHost(uri as string, hosts)) {
      throw invalidUri(`${field}[${i}] must be on one of the hosts this registration allows (${hosts.join(', ')}).`);
    }
  });
}

/** The body of POST /admin/apps/{id}/clients: its metadata, checked. */
export function parseNewClient(body: unknown, rules: InputRules): Record<string, unknown> {
  const metadata = asMetadata(body);
  checkClientMetadata(metadata, undefined, rules);
  return metadata;
}

/** The body of PATCH …/clients/{clientId} merged onto the client's metadata: null removes a field. */
export function parseClientChanges(body: unknown, current: ClientRecord, rules: InputRules): Record<string, unknown> {
  const changes = asMetadata(body);
  const merged: Record<string, unknown> = { ...current.metadata, ...changes };
  for (const [key, value] of Object.entries(changes)) if (value === null) delete merged[key];
  checkClientMetadata(merged, current.redirectUriHosts, rules);
  return merged;
}

function asMetadata(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalid('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (FRONT_CHANNEL.includes(key)) continue; // refused with its reason by checkClientMetadata
    if (!(CLIENT_FIELDS as readonly string[]).includes(key)) throw invalid(`Unknown field "${key.slice(0, 64)}". Allowed: ${CLIENT_FIELDS.join(', ')}.`);
  }
  return body as Record<string, unknown>;
}

/** Hosts for an initial access token's policy: DNS names or IP literals, as the URL parser writes them. */
export function parseHosts(value: unknown, field = 'policy.redirect_uri_hosts'): string[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_URIS) {
    throw invalid(`${field} must be an array of 1 to ${MAX_URIS} host names.`);
  }
  return value.map((host: unknown, i) => {
    const parsed = typeof host === 'string' && /^[A-Za-z0-9.[\]:-]{1,253}$/.test(host) ? URL.parse(`https://${host}/`) : null;
    if (!parsed || parsed.hostname !== (host as string).toLowerCase() || parsed.port) throw invalid(`${field}[${i}] must be a host name such as app.example.com (no scheme, port or path).`);
    return parsed.hostname;
  });
}
