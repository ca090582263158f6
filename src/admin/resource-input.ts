// Validation of admin input for API resources (apps/api-resources.ts). Every failure names
// the field; the rules that depend on the app's other resources are the service's.
import {
  ACCESS_TOKEN_TTL_RANGE,
  DEFAULT_ACCESS_TOKEN_TTL,
  MAX_SCOPES,
  OIDC_SCOPE_NAMES,
  type ResourceChanges,
  type ResourceFields,
} from '../apps/api-resources.ts';
import { badRequest } from '../errors.ts';
import { name } from './app-input.ts';
import { endpointUriProblem } from './redirect-uris.ts';

const FIELDS = ['identifier', 'name', 'scopes', 'access_token_ttl'];
export const MAX_SCOPE_LENGTH = 128;
/** RFC 6749 §3.3 scope-token: printable ASCII except space, `"` and `\`. */
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]+$/;

function fieldsOf(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('The request body must be a JSON object.');
  for (const key of Object.keys(body)) {
    if (!FIELDS.includes(key)) throw badRequest(`Unknown field "${key.slice(0, 64)}". Allowed: ${FIELDS.join(', ')}.`);
  }
  return body as Record<string, unknown>;
}

/**
 * The resource indicator (RFC 8707 §2): an absolute https URI (http on a loopback host, as
 * for redirect URIs), without fragment or query, and not Postern's PUBLIC_URL or anything
 * under it: a token whose audience is this app's issuer, another app's, or Postern itself
 * could be taken for one of their own.
 */
function identifier(value: unknown, publicUrl: string): string {
  const problem = endpointUriProblem(value, true);
  if (problem) throw badRequest(`identifier ${problem}.`);
  const url = new URL(value as string);
  if (url.search || (value as string).includes('?')) throw badRequest('identifier must not contain a query (RFC 8707 §2).');
  const postern = new URL(publicUrl);
  const under = url.origin === postern.origin && directory(url.pathname).startsWith(directory(postern.pathname));
  if (under) throw badRequest("identifier must not be Postern's own URL (PUBLIC_URL, every app's issuer) or a URI under it: name the API itself, e.g. https://api.example.com.");
  return value as string;
}

/** A path as a lenient router might read it (comparable), ending in one `/`: "/apps/x" and "/apps/x/" are both "/apps/x/". */
function directory(path: string): string {
  return comparable(path).replace(/\/*$/, '/');
}

/** A path as a lenient router might read it: percent-decoded, in lower case. */
function comparable(path: string): string {
  try {
    return decodeURIComponent(path).toLowerCase();
  } catch {
    return path.toLowerCase();
  }
}

function scopes(value: unknown): string[] {
  if (!Array.isArray(value) || value.length < 1 || value.length > MAX_SCOPES) throw badRequest(`scopes must be an array of 1 to ${MAX_SCOPES} scopes.`);
  for (const scope of value) {
    if (typeof scope !== 'string' || scope.length > MAX_SCOPE_LENGTH || !SCOPE_TOKEN.test(scope)) {
      throw badRequest(`scopes must be RFC 6749 scope tokens (printable ASCII without spaces, quotes or backslashes), at most ${MAX_SCOPE_LENGTH} characters each.`);
    }
    if (OIDC_SCOPE_NAMES.has(scope)) {
      throw badRequest(`scopes must not include the OpenID Connect scope "${scope}": it asks for the person's claims, not for access to an API.`);
    }
  }
  return [...new Set(value as string[])];
}

function ttl(value: unknown): number {
  const [min, max] = ACCESS_TOKEN_TTL_RANGE;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw badRequest(`access_token_ttl must be an integer number of seconds from ${min} to ${max}.`);
  }
  return value;
}

export function parseCreateResource(body: unknown, publicUrl: string): ResourceFields {
  const input = fieldsOf(body);
  if (input.identifier === undefined) throw badRequest('identifier is required.');
  if (input.scopes === undefined) throw badRequest('scopes is required.');
  return {
    identifier: identifier(input.identifier, publicUrl),
    name: input.name === undefined ? undefined : name(input.name),
    scopes: scopes(input.scopes),
    accessTokenTtl: input.access_token_ttl === undefined ? DEFAULT_ACCESS_TOKEN_TTL : ttl(input.access_token_ttl),
  };
}

export function parseUpdateResource(body: unknown, publicUrl: string): ResourceChanges {
  const input = fieldsOf(body);
  return {
    ...(input.identifier !== undefined && { identifier: identifier(input.identifier, publicUrl) }),
    ...(input.name !== undefined && { name: input.name === null ? null : name(input.name) }),
    ...(input.scopes !== undefined && { scopes: scopes(input.scopes) }),
    ...(input.access_token_ttl !== undefined && { accessTokenTtl: ttl(input.access_token_ttl) }),
  };
}
