// The admin API as an OpenAPI 3.1 document, built from the same constants the routes and
// parsers use (ranges, enums, limits, error kinds), so the numbers cannot disagree with
// the code. Served at GET /admin/openapi.json; docs/openapi.json is its rendering
// (`npm run docs:openapi`), and a test fails when the two differ. The test suite checks
// every admin response it receives against this document.
import { clientPaths, clientSchemas } from './openapi-clients.ts';
import { DEFAULT_SETTINGS, SETTING_RANGES } from '../apps/app-settings.ts';
import { SIGNING_ALGS } from '../apps/client-options.ts';
import { ERROR_KINDS, type ErrorKind } from '../errors.ts';
import { BODY_LIMIT } from '../http/read-body.ts';
import type { AppSettings } from '../storage/ports.ts';
import { AUTH_METHODS, MAX_URIS } from './app-input.ts';
import { BRANDING_SCHEMAS } from './branding-input.ts';
import { DEFAULT_APPS_PER_PAGE, MAX_APPS_PER_PAGE } from './app-list-query.ts';
import { MAX_LIMIT } from './audit-query.ts';
import { openRegistrationSchema } from './open-registration-input.ts';
import { ACCESS_TOKEN_TTL_RANGE, DEFAULT_ACCESS_TOKEN_TTL, MAX_RESOURCES, MAX_SCOPES } from '../apps/api-resources.ts';
import { MAX_SCOPE_LENGTH } from './resource-input.ts';

type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const responseRef = (name: string) => ({ $ref: `#/components/responses/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });

const SETTING_DESCRIPTIONS: Record<keyof AppSettings, string> = {
  id_token_ttl: 'Lifetime of ID tokens and access tokens, in seconds.',
  magic_link_ttl: 'Lifetime of a sign-in link and its code, in seconds.',
  refresh_token_idle_ttl: 'A refresh token unused this long (seconds) expires; not more than refresh_token_max_ttl.',
  refresh_token_max_ttl: 'Seconds after sign-in when a refresh token chain ends. Lowering it ends older chains at their next refresh.',
  refresh_token_reuse_interval: 'Seconds during which a used refresh token may be used again (a retry); 0: any second use is a replay.',
  max_links_per_address: 'Sign-in links one mailbox can be sent per 15 minutes.',
  max_links_per_ip: 'Sign-in links requested from one client IP (IPv4 address or IPv6 /64) per 15 minutes.',
  max_links_per_network: 'Sign-in links requested from one client network (IPv4 /24, IPv6 /48) per hour.',
  max_links_per_app: 'Sign-in links for the whole app per hour.',
};

const SETTING_FIELDS = Object.keys(SETTING_RANGES) as (keyof AppSettings)[];

/** The settings as request fields: integers in their ranges, with their defaults. */
const settingInputs = Object.fromEntries(
  SETTING_FIELDS.map((field) => {
    const [minimum, maximum] = SETTING_RANGES[field];
    return [field, { type: 'integer', minimum, maximum, default: DEFAULT_SETTINGS[field], description: SETTING_DESCRIPTIONS[field] }];
  }),
);

const URI_RULE =
  'https, http on a loopback host (127.0.0.0/8, [::1], localhost), or a private-use scheme in reverse-domain form (com.example.app:/cb); ' +
  'at most 2000 characters, no fragment, credentials, wildcards, backslashes, spaces or control characters. Matched exactly.';

const uriList = (description: string, minItems: number) => ({
  type: 'array',
  minItems,
  maxItems: MAX_URIS,
  items: { type: 'string', minLength: 1, maxLength: 2000 },
  description: `${description} Duplicates are dropped. Each URI: ${URI_RULE}`,
});

const signingAlg = { type: 'string', enum: [...SIGNING_ALGS] };
const optionalSigningAlg = (what: string) => ({
  type: ['string', 'null'],
  enum: [...SIGNING_ALGS, null],
  default: null,
  description: `Signs ${what} as a JWT with this algorithm; null: plain JSON.`,
});

/** Fields a create and an update accept alike. */
const commonInputs = {
  name: { type: 'string', minLength: 1, maxLength: 100, description: 'Shown on the login page and in mail; 1 to 100 characters after trimming, no control or bidi-override characters.' },
  redirect_uris: uriList('Where codes may be sent.', 1),
  post_logout_redirect_uris: uriList('Where a signed-out browser may be sent.', 0),
  require_pkce: {
    type: 'boolean',
    default: true,
    description: 'Only an app with a client secret may set false; public apps always require PKCE.',
  },
  id_token_signed_response_alg: { ...signingAlg, default: 'ES512', description: 'Signs ID tokens; keys for a new algorithm are added in the same write.' },
  userinfo_signed_response_alg: optionalSigningAlg('userinfo answers'),
  introspection_signed_response_alg: optionalSigningAlg('introspection answers to requests that ask for application/token-introspection+jwt'),
  backchannel_logout_uri: {
    type: 'string',
    format: 'uri',
    maxLength: 2000,
    description: 'Receives logout tokens (back-channel logout). https only (http on a loopback host outside production); no fragment.',
  },
  backchannel_logout_session_required: { type: 'boolean', default: false, description: 'true: every logout token carries sid.' },
  initiate_login_uri: {
    type: 'string',
    format: 'uri',
    maxLength: 2000,
    description: 'Published in the client metadata for third-party-initiated login; https only; never called by Postern.',
  },
  open_registration: openRegistrationSchema,
  ...settingInputs,
  ...BRANDING_SCHEMAS.inputs,
};

const nullable = (schema: Schema, description: string) => ({ ...schema, type: [schema.type, 'null'], description });

const createApp = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'redirect_uris'],
  description: 'frontchannel_logout_uri and frontchannel_logout_session_required are refused (invalid_client_metadata): front-channel logout fails silently in browsers that block third-party cookies.',
  properties: {
    ...commonInputs,
    token_endpoint_auth_method: {
      type: 'string',
      enum: [...AUTH_METHODS],
      default: 'none',
      description: 'none: a public client (PKCE only); otherwise the answer carries a client secret, shown only once. Cannot be changed later.',
    },
  },
};

const updateApp = {
  type: 'object',
  additionalProperties: false,
  description:
    'Only the fields given change; the change takes effect on the next request. URIs the app already has stay allowed even if refused today. ' +
    'token_endpoint_auth_method cannot be changed.',
  properties: {
    ...commonInputs,
    backchannel_logout_uri: nullable(commonInputs.backchannel_logout_uri, 'As on create; null removes it.'),
    initiate_login_uri: nullable(commonInputs.initiate_login_uri, 'As on create; null removes it.'),
    ...Object.fromEntries(
      Object.entries(BRANDING_SCHEMAS.inputs).map(([field, schema]) => {
        const removable = nullable(schema, `${schema.description} null removes it.`);
        return [field, 'enum' in schema ? { ...removable, enum: [...schema.enum, null] } : removable];
      }),
    ),
  },
};

const dateTime = { type: 'string', format: 'date-time' };

const key = {
  type: 'object',
  additionalProperties: false,
  required: ['kid', 'alg', 'status', 'created_at'],
  description: 'A signing key: public facts only (the JWKS has the public half).',
  properties: {
    kid: { type: 'string' },
    alg: signingAlg,
    status: { type: 'string', enum: ['next', 'current', 'previous'], description: 'next: published, not yet signing; current: signing; previous: published until its tokens expire.' },
    created_at: dateTime,
    activated_at: { ...dateTime, description: 'When it started signing (not for next keys).' },
    retire_at: { ...dateTime, description: 'When a previous key leaves the JWKS.' },
  },
};

const appProperties = {
  app_id: { type: 'string', description: 'The app id; also its client_id and the last segment of its issuer.' },
  client_id: { type: 'string' },
  issuer: { type: 'string', format: 'uri' },
  discovery_url: { type: 'string', format: 'uri' },
  name: { type: 'string' },
  redirect_uris: { type: 'array', items: { type: 'string' } },
  post_logout_redirect_uris: { type: 'array', items: { type: 'string' } },
  warnings: {
    type: 'array',
    description: 'Registered URIs that today\'s rule would refuse if added now; they keep working.',
    items: {
      type: 'object',
      additionalProperties: false,
      required: ['field', 'uri', 'problem'],
      properties: { field: { type: 'string', description: 'e.g. redirect_uris[0]' }, uri: { type: 'string' }, problem: { type: 'string' } },
    },
  },
  token_endpoint_auth_method: { type: 'string', enum: [...AUTH_METHODS] },
  require_pkce: { type: 'boolean' },
  id_token_signed_response_alg: signingAlg,
  userinfo_signed_response_alg: { type: ['string', 'null'], enum: [...SIGNING_ALGS, null] },
  introspection_signed_response_alg: { type: ['string', 'null'], enum: [...SIGNING_ALGS, null] },
  backchannel_logout_uri: { type: ['string', 'null'] },
  backchannel_logout_session_required: { type: 'boolean' },
  initiate_login_uri: { type: ['string', 'null'] },
  ...BRANDING_SCHEMAS.view,
  open_registration: openRegistrationSchema,
  ...Object.fromEntries(SETTING_FIELDS.map((field) => [field, { type: 'integer', description: SETTING_DESCRIPTIONS[field] }])),
  keys: { type: 'array', items: ref('Key') },
  created_at: dateTime,
  updated_at: dateTime,
};

const app = { type: 'object', additionalProperties: false, required: Object.keys(appProperties), properties: appProperties };

const createdApp = {
  ...app,
  description: 'The app; with a client secret for confidential apps, shown this once only.',
  properties: {
    ...appProperties,
    client_secret: { type: 'string' },
    client_secret_expires_at: { const: 0, description: 'The secret does not expire.' },
  },
};

const resourceInputs = {
  identifier: {
    type: 'string',
    format: 'uri',
    maxLength: 2000,
    description:
      'The resource indicator (RFC 8707) clients send as `resource`, exactly as registered, and the `aud` of its access tokens. ' +
      'https (http on a loopback host); no fragment, query or credentials; not Postern\'s own URL (PUBLIC_URL, every app\'s issuer) or a URI under it; unique in the app.',
  },
  name: { type: 'string', minLength: 1, maxLength: 100, description: 'For people; 1 to 100 characters after trimming.' },
  scopes: {
    type: 'array',
    minItems: 1,
    maxItems: MAX_SCOPES,
    items: { type: 'string', minLength: 1, maxLength: MAX_SCOPE_LENGTH, pattern: '^[\\x21\\x23-\\x5B\\x5D-\\x7E]+$' },
    description: 'RFC 6749 scope tokens the API understands; not OpenID Connect scopes (openid, profile, email, address, phone, offline_access). Duplicates are dropped.',
  },
  access_token_ttl: {
    type: 'integer',
    minimum: ACCESS_TOKEN_TTL_RANGE[0],
    maximum: ACCESS_TOKEN_TTL_RANGE[1],
    default: DEFAULT_ACCESS_TOKEN_TTL,
    description: 'Seconds an access token for this API is valid. The API accepts it until then, also after the grant is revoked (unless it introspects).',
  },
};

const createResource = {
  type: 'object',
  additionalProperties: false,
  required: ['identifier', 'scopes'],
  description: `An app has at most ${MAX_RESOURCES} resources.`,
  properties: resourceInputs,
};

const updateResource = {
  type: 'object',
  additionalProperties: false,
  description: 'Only the fields given change; name null removes the name. Takes effect on the next request.',
  properties: { ...resourceInputs, name: nullable(resourceInputs.name, 'As on create; null removes it.') },
};

const apiResource = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'identifier', 'name', 'scopes', 'access_token_ttl', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string', description: 'Server-assigned, res_…' },
    identifier: { type: 'string' },
    name: { type: ['string', 'null'] },
    scopes: { type: 'array', items: { type: 'string' } },
    access_token_ttl: { type: 'integer' },
    created_at: dateTime,
    updated_at: dateTime,
  },
};

const auditPage = {
  type: 'object',
  additionalProperties: false,
  required: ['events', 'next_cursor'],
  properties: {
    events: {
      type: 'array',
      description: 'Newest first.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'at', 'app_id', 'type', 'outcome'],
        properties: {
          id: { type: 'string' },
          at: dateTime,
          app_id: { type: 'string' },
          type: { type: 'string', description: 'e.g. link.requested, admin.app_updated' },
          outcome: { type: 'string', enum: ['success', 'failure'] },
          client_id: { type: 'string' },
          email: { type: 'string' },
          reason: { type: 'string' },
          open: { type: 'boolean', description: 'client.registered: registered without an initial access token (open registration).' },
          ip: { type: 'string' },
          user_agent: { type: 'string' },
          request_id: { type: 'string' },
        },
      },
    },
    next_cursor: { type: ['string', 'null'], description: 'Pass as cursor for the next (older) page; null on the last page.' },
  },
};

const signOutCounts = {
  type: 'object',
  additionalProperties: false,
  required: ['grants_revoked', 'sessions_ended', 'backchannel_logouts_queued'],
  properties: {
    grants_revoked: { type: 'integer', minimum: 0 },
    sessions_ended: { type: 'integer', minimum: 0 },
    backchannel_logouts_queued: { type: 'integer', minimum: 0, description: 'Logout tokens queued for the app\'s back-channel logout URI.' },
  },
};

/** Every error code one status can carry (src/errors.ts). */
function errorSchema(status: number): Schema {
  const codes = [...new Set(Object.values(ERROR_KINDS).filter((kind) => kind.status === status).map((kind) => kind.error))];
  return {
    type: 'object',
    additionalProperties: false,
    required: ['error', 'error_description'],
    properties: { error: { type: 'string', enum: codes }, error_description: { type: 'string', description: 'For people; do not parse.' } },
  };
}

const retryAfter = { description: 'Seconds to wait before trying again.', schema: { type: 'integer', minimum: 0 } };

/** Error responses by name: status, description and headers. */
const ERRORS: Record<string, { kind: ErrorKind; description: string; headers?: Record<string, unknown> }> = {
  BadRequest: { kind: 'bad_request', description: 'The input is invalid; the description names the field.' },
  Unauthorized: {
    kind: 'unauthenticated',
    description: 'No or wrong admin token.',
    headers: { 'WWW-Authenticate': { description: 'Bearer realm="postern-admin"', schema: { type: 'string' } } },
  },
  NotFound: { kind: 'not_found', description: 'No app (or resource of the app) with this id.' },
  MethodNotAllowed: {
    kind: 'method_not_allowed',
    description: 'A method the path does not have (answered for every method not listed here).',
    headers: { Allow: { description: 'The methods the path has.', schema: { type: 'string' } } },
  },
  Conflict: { kind: 'conflict', description: 'Another request changed the app at the same time, or a rotation came too early; try again.' },
  PreconditionFailed: { kind: 'precondition_failed', description: 'The app or client has changed since the version If-Match names (or If-Match was sent empty): read it again (GET gives its ETag) and decide.' },
  TooLarge: { kind: 'too_large', description: `The body is larger than ${BODY_LIMIT} bytes.` },
  UrlTooLong: { kind: 'url_too_long', description: 'The request URL is too long.' },
  UnsupportedMediaType: { kind: 'unsupported_media_type', description: 'The body is not application/json.' },
  TooManyRequests: {
    kind: 'rate_limited',
    description: 'Too many failed admin authentications from this IP (IPv4 address or IPv6 /64) in 15 minutes; refused even with the right token.',
    headers: { 'Retry-After': retryAfter },
  },
  Internal: { kind: 'internal', description: 'An unexpected failure; the description carries a reference to the server log.' },
  Unavailable: { kind: 'unavailable', description: 'A store is not answering, or the server is overloaded or shutting down.', headers: { 'Retry-After': retryAfter } },
};

const errorResponses = Object.fromEntries(
  Object.entries(ERRORS).map(([name, { kind, description, headers }]) => [
    name,
    { description, ...(headers && { headers }), content: json(ref(`Error${ERROR_KINDS[kind].status}`)) },
  ]),
);

const errorSchemas = Object.fromEntries(
  [...new Set(Object.values(ERRORS).map(({ kind }) => ERROR_KINDS[kind].status))].map((status) => [`Error${status}`, errorSchema(status)]),
);

/** The error responses every admin operation can give. */
const ALWAYS = { 401: 'Unauthorized', 414: 'UrlTooLong', 429: 'TooManyRequests', 500: 'Internal', 503: 'Unavailable' };
const WITH_BODY = { 400: 'BadRequest', 413: 'TooLarge', 415: 'UnsupportedMediaType' };

function responses(success: Record<string, unknown>, errors: Record<number, string> = {}) {
  const all: Record<string, unknown> = { ...success };
  for (const [status, name] of Object.entries({ ...errors, ...ALWAYS })) all[status] = responseRef(name);
  return Object.fromEntries(Object.entries(all).sort(([a], [b]) => Number(a) - Number(b)));
}

const ok = (description: string, schema: Schema, headers?: Record<string, unknown>) => ({
  description,
  ...(headers && { headers }),
  content: json(schema),
});

/** An app's or client's version (record-etag.ts), for If-Match. */
const versionHeader = (what: string) => ({ ETag: { description: `The ${what}'s version: send it as If-Match to change this version only.`, schema: { type: 'string' } } });
const appETagHeader = versionHeader('app');
const ifMatchParam = (what: string) => ({
  name: 'If-Match',
  in: 'header',
  required: false,
  description: `The ETag of the ${what}'s version this change is based on, or * (any).`,
  schema: { type: 'string' },
});

const appIdParam = { name: 'id', in: 'path', required: true, description: 'The app id.', schema: { type: 'string' } };

const resourceIdParam = { name: 'resourceId', in: 'path', required: true, description: 'The resource id (res_…).', schema: { type: 'string' } };

const queryParam = (name: string, description: string, schema: Schema) => ({ name, in: 'query', required: false, description, schema });
const timeParam = (name: string, description: string) =>
  queryParam(name, `${description} ISO 8601 date (UTC), date-time with its zone (2026-01-31T12:00:00Z) or epoch milliseconds.`, { type: 'string' });

const jsonBody = (schema: Schema) => ({ required: true, content: json(schema) });

/** A trail's query: an app's (GET /admin/apps/{id}/audit) and the instance's (GET /admin/audit). */
const auditParams = [
  queryParam('email', 'Only events for this address (compared in lower case).', { type: 'string', maxLength: 254 }),
  queryParam('type', 'Only events of this type, e.g. link.requested.', { type: 'string', pattern: '^[a-z_]+(\\.[a-z_]+)*$' }),
  timeParam('from', 'Events at or after this time.'),
  timeParam('to', 'Events before this time.'),
  queryParam('limit', 'Events per page.', { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 100 }),
  queryParam('cursor', 'next_cursor of the previous page.', { type: 'string' }),
];

/** The document (a fresh copy each call); the server's base URL is left out, as each deployment has its own. */
export function adminOpenApi() {
  return structuredClone(document());
}

/**
 * Each path with its OPTIONS answer: @koa/router answers it for every path a router knows
 * (no route declares it), with the path's methods in Allow and no body.
 */
function withOptions<T extends Record<string, object>>(paths: T) {
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => [
      path,
      {
        ...item,
        options: {
          operationId: `options${path.split(/[^A-Za-z]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}`,
          summary: 'The methods this path has',
          responses: responses({ 200: { description: 'No body.', headers: { Allow: { description: 'The methods this path has.', schema: { type: 'string' } } } } }),
        },
      },
    ]),
  ) as { [P in keyof T]: T[P] & { options: unknown } };
}

function document() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Postern admin API',
      version: '1',
      description:
        'Manage apps (each its own OpenID Connect issuer with one client), rotate their keys, read their audit trail, sign accounts out. ' +
        'Every path under /admin needs the admin token, whatever its spelling or method; responses carry Cache-Control: no-store. ' +
        `Request bodies are application/json, at most ${BODY_LIMIT} bytes. ` +
        'Any method a path does not list is answered 405 (components.responses.MethodNotAllowed) once the token is accepted.',
    },
    security: [{ adminToken: [] }],
    paths: withOptions({
      '/admin/openapi.json': {
        get: {
          operationId: 'getOpenApi',
          summary: 'The OpenAPI document of the admin API',
          responses: responses({ 200: ok('The OpenAPI document.', { type: 'object' }) }),
        },
      },
      '/admin/apps': {
        get: {
          operationId: 'listApps',
          summary: 'List apps, oldest first, a page at a time',
          description: 'Follow next_cursor until it is null to see every app. Any other query parameter, or one given twice, is a 400.',
          parameters: [
            queryParam('limit', 'Apps per page.', { type: 'integer', minimum: 1, maximum: MAX_APPS_PER_PAGE, default: DEFAULT_APPS_PER_PAGE }),
            queryParam('cursor', 'next_cursor of the previous page.', { type: 'string' }),
          ],
          responses: responses(
            {
              200: ok('A page of apps.', {
                type: 'object',
                additionalProperties: false,
                required: ['apps', 'next_cursor'],
                properties: {
                  apps: { type: 'array', items: ref('App') },
                  next_cursor: { type: ['string', 'null'], description: 'Pass as cursor for the next (newer) page; null on the last page.' },
                },
              }),
            },
            { 400: 'BadRequest' },
          ),
        },
        post: {
          operationId: 'createApp',
          summary: 'Create an app: a new issuer with its own keys and one client',
          requestBody: jsonBody(ref('CreateApp')),
          responses: responses(
            {
              201: ok('The app.', ref('CreatedApp'), {
                Location: { description: '/admin/apps/{app_id}', schema: { type: 'string' } },
                ...appETagHeader,
              }),
            },
            WITH_BODY,
          ),
        },
      },
      '/admin/apps/{id}': {
        parameters: [appIdParam],
        get: { operationId: 'getApp', summary: 'Read an app', responses: responses({ 200: ok('The app.', ref('App'), appETagHeader) }, { 404: 'NotFound' }) },
        patch: {
          operationId: 'updateApp',
          summary: 'Change the fields given',
          description: 'With If-Match, only the version it names is changed: a change made by someone else meanwhile (an edit, a client, a key rotation) answers 412 and changes nothing.',
          parameters: [ifMatchParam('app')],
          requestBody: jsonBody(ref('UpdateApp')),
          responses: responses({ 200: ok('The app as changed.', ref('App'), appETagHeader) }, { ...WITH_BODY, 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed' }),
        },
        delete: {
          operationId: 'deleteApp',
          summary: 'Delete the app with its sessions, grants, tokens, accounts, links and audit events',
          description:
            'The app is gone from every read at once; its data is purged before the 204. After a 503 (the store failed), the app may be gone with part of its data left: ' +
            'repeat the request until 204 or 404; if nobody does, the instances finish it within minutes. A repeat answers 204 until the deletion is finished for good (about an hour), then 404. ' +
            "Every call is recorded as admin.app_deleted in the instance's trail (GET /admin/audit; reason repeated when the app was deleted already), not with the app's purged data. " +
            'With If-Match, only the version it names is deleted (412 otherwise); a repeat after the app is gone answers 204 as above.',
          parameters: [ifMatchParam('app')],
          responses: responses({ 204: { description: 'Deleted.' } }, { 404: 'NotFound', 412: 'PreconditionFailed' }),
        },
      },
      '/admin/apps/{id}/keys/rotate': {
        parameters: [appIdParam],
        post: {
          operationId: 'rotateKeys',
          summary: 'Rotate the signing keys now',
          description:
            'The published next keys start signing; the current ones stay published until their tokens expire. ' +
            'Refused (409, Retry-After) while the next keys are younger than 10 minutes, unless immediate=true. No body, and no other parameter (400): a misspelt flag is never read as a normal rotation. ' +
            'With If-Match, only the version it names is rotated (412 otherwise).',
          parameters: [
            queryParam('immediate', 'true: replace every key at once, for a compromised key (tokens already issued stop verifying).', {
              type: 'string',
              enum: ['true', 'false'],
              default: 'false',
            }),
            ifMatchParam('app'),
          ],
          responses: responses(
            { 200: ok('The app with its new keys.', ref('App'), appETagHeader) },
            { 400: 'BadRequest', 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed' },
          ),
        },
      },
      '/admin/apps/{id}/resources': {
        parameters: [appIdParam],
        get: {
          operationId: 'listResources',
          summary: "The APIs the app protects, oldest first",
          responses: responses(
            { 200: ok('Every resource.', { type: 'object', additionalProperties: false, required: ['resources'], properties: { resources: { type: 'array', items: ref('ApiResource') } } }) },
            { 404: 'NotFound' },
          ),
        },
        post: {
          operationId: 'createResource',
          summary: 'Register an API: requests with its identifier as `resource` get JWT access tokens (RFC 9068) for it',
          requestBody: jsonBody(ref('CreateResource')),
          responses: responses(
            { 201: ok('The resource.', ref('ApiResource'), { Location: { description: '/admin/apps/{app_id}/resources/{id}', schema: { type: 'string' } } }) },
            { ...WITH_BODY, 404: 'NotFound', 409: 'Conflict' },
          ),
        },
      },
      '/admin/apps/{id}/resources/{resourceId}': {
        parameters: [appIdParam, resourceIdParam],
        get: { operationId: 'getResource', summary: 'Read a resource', responses: responses({ 200: ok('The resource.', ref('ApiResource')) }, { 404: 'NotFound' }) },
        patch: {
          operationId: 'updateResource',
          summary: 'Change the fields given',
          requestBody: jsonBody(ref('UpdateResource')),
          responses: responses({ 200: ok('The resource as changed.', ref('ApiResource')) }, { ...WITH_BODY, 404: 'NotFound', 409: 'Conflict' }),
        },
        delete: {
          operationId: 'deleteResource',
          summary: 'Delete the resource: new requests for it are invalid_target; tokens issued for it stay valid until they expire',
          responses: responses({ 204: { description: 'Deleted.' } }, { 404: 'NotFound', 409: 'Conflict' }),
        },
      },
      '/admin/apps/{id}/audit': {
        parameters: [appIdParam],
        get: {
          operationId: 'queryAudit',
          summary: "The app's audit events, newest first",
          description: 'Any other query parameter, or one given twice, is a 400.',
          parameters: auditParams,
          responses: responses({ 200: ok('A page of events.', ref('AuditPage')) }, { 400: 'BadRequest', 404: 'NotFound' }),
        },
      },
      '/admin/audit': {
        get: {
          operationId: 'queryInstanceAudit',
          summary: "The instance's audit events, newest first: those that outlive their app (admin.app_deleted)",
          description: 'The same parameters and page as an app\'s trail; app_id names the app each event is about. Any other query parameter, or one given twice, is a 400.',
          parameters: auditParams,
          responses: responses({ 200: ok('A page of events.', ref('AuditPage')) }, { 400: 'BadRequest' }),
        },
      },
      ...clientPaths({ ref, ok, responses, jsonBody, appIdParam, withBody: WITH_BODY, versionHeader, ifMatchParam }),
      '/admin/apps/{id}/sign-outs': {
        parameters: [appIdParam],
        post: {
          operationId: 'signOutAccount',
          summary: 'Sign an account out of the app',
          description:
            "Ends the account's sessions and grants in the app and queues back-channel logout, as sign out everywhere does. " +
            'The address travels in the body, never in the URL. Not shed under load.',
          requestBody: jsonBody({
            type: 'object',
            additionalProperties: false,
            required: ['email'],
            properties: { email: { type: 'string', format: 'email', maxLength: 254 } },
          }),
          responses: responses({ 200: ok('What ended.', ref('SignOutCounts')) }, { ...WITH_BODY, 404: 'NotFound' }),
        },
      },
    }),
    components: {
      securitySchemes: {
        adminToken: {
          type: 'http',
          scheme: 'bearer',
          description: 'The ADMIN_TOKEN setting, compared in constant time.',
        },
      },
      schemas: {
        CreateApp: createApp,
        UpdateApp: updateApp,
        App: app,
        CreatedApp: createdApp,
        Key: key,
        AuditPage: auditPage,
        SignOutCounts: signOutCounts,
        CreateResource: createResource,
        UpdateResource: updateResource,
        ApiResource: apiResource,
        ...clientSchemas,
        ...errorSchemas,
      },
      responses: errorResponses,
    },
  };
}

/** Where the document's rendering is kept in the repository. */
export const OPENAPI_DOC = new URL('../../docs/openapi.json', import.meta.url);
