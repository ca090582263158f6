// The admin API's client and initial access token routes (client-routes.ts) in the
// OpenAPI document (openapi.ts puts them in, with its own helpers).
import {
  DEFAULT_SECRET_GRACE_SECONDS,
  IAT_DEFAULT_EXPIRES_IN,
  IAT_MAX_EXPIRES_IN,
  IAT_MAX_USES,
  MAX_CLIENTS_PER_APP,
  MAX_SECRET_GRACE_SECONDS,
} from '../apps/clients.ts';
import { SIGNING_ALGS } from '../apps/client-options.ts';
import { CLIENT_FIELDS, MAX_CLIENT_METADATA_BYTES } from './client-input.ts';

type Schema = Record<string, unknown>;

/** What openapi.ts lends: its reference, response and body builders. */
export interface OpenApiHelpers {
  readonly ref: (name: string) => Schema;
  readonly ok: (description: string, schema: Schema, headers?: Record<string, unknown>) => Schema;
  readonly responses: (success: Record<string, unknown>, errors?: Record<number, string>) => Record<string, unknown>;
  readonly jsonBody: (schema: Schema) => Schema;
  readonly appIdParam: Schema;
  readonly withBody: Record<number, string>;
  /** The ETag header of a versioned answer, and the If-Match parameter that names a version. */
  readonly versionHeader: (what: string) => Record<string, unknown>;
  readonly ifMatchParam: (what: string) => Schema;
}

const dateTime = { type: 'string', format: 'date-time' };
const uris = { type: 'array', items: { type: 'string' } };
const alg = { type: 'string', enum: [...SIGNING_ALGS] };

/** RFC 7591 metadata as the admin API takes it; the engine's rules apply on top (types, grant and response types). */
const metadataProperties: Record<(typeof CLIENT_FIELDS)[number], Schema> = {
  client_name: { type: 'string', minLength: 1, maxLength: 100, description: 'Shown on the hosted login page.' },
  redirect_uris: { ...uris, minItems: 1, maxItems: 20, description: 'The allowlist of docs/redirect-uris.md.' },
  post_logout_redirect_uris: { ...uris, maxItems: 20 },
  token_endpoint_auth_method: { type: 'string', enum: ['none', 'client_secret_basic', 'client_secret_post'], default: 'none' },
  grant_types: { type: 'array', items: { type: 'string', enum: ['authorization_code', 'refresh_token'] } },
  response_types: { type: 'array', items: { type: 'string', enum: ['code'] } },
  application_type: { type: 'string', enum: ['web', 'native'] },
  id_token_signed_response_alg: { ...alg, description: 'Keys for it are added to the app in the same write.' },
  userinfo_signed_response_alg: alg,
  introspection_signed_response_alg: alg,
  backchannel_logout_uri: {
    type: 'string',
    description:
      "Back-Channel Logout 1.0: where Postern posts this client's logout tokens (audience: this client_id) when a session that signed in to it ends. https (http on a loopback host outside production); under a registration policy, on one of its hosts.",
  },
  backchannel_logout_session_required: { type: 'boolean', description: 'Every logout token for this client carries sid; default false.' },
  initiate_login_uri: { type: 'string' },
  logo_uri: { type: 'string', description: 'https; shown on the hosted login page.' },
  client_uri: { type: 'string' },
  policy_uri: { type: 'string' },
  tos_uri: { type: 'string' },
};

const newClient = { type: 'object', additionalProperties: false, required: ['redirect_uris'], properties: metadataProperties };
const clientChanges = {
  type: 'object',
  additionalProperties: false,
  description: 'Fields left out stay; null removes one. token_endpoint_auth_method cannot change between none and a secret.',
  // null in the enum too: a schema validator checks enum apart from type.
  properties: Object.fromEntries(
    Object.entries(metadataProperties).map(([k, v]) => [k, { ...v, type: [v.type, 'null'], ...('enum' in v && { enum: [...(v.enum as unknown[]), null] }) }]),
  ),
};

const client = {
  type: 'object',
  additionalProperties: true,
  required: ['client_id', 'default', 'origin', 'created_at', 'updated_at'],
  description: 'The client metadata (RFC 7591 names) with these fields. Never the secret.',
  properties: {
    client_id: { type: 'string' },
    default: { type: 'boolean', description: "true for the app's own client (client_id = app id), changed through PATCH /admin/apps/{id}." },
    origin: {
      type: 'string',
      enum: ['app', 'admin', 'registration', 'open_registration'],
      description: "app: the default client; admin: this API; registration: RFC 7591 with an initial access token; open_registration: RFC 7591 without one, under the app's open_registration policy.",
    },
    redirect_uri_hosts: { type: 'array', items: { type: 'string' }, description: 'The hosts its redirect URIs must be on (its initial access token policy).' },
    previous_secret_expires_at: { ...dateTime, description: 'Until when the secret before the last rotation still works.' },
    created_at: dateTime,
    updated_at: dateTime,
  },
};

const createdClient = {
  allOf: [
    { $ref: '#/components/schemas/Client' },
    { type: 'object', properties: { client_secret: { type: 'string', description: 'Confidential clients only; shown this once.' }, client_secret_expires_at: { const: 0 } } },
  ],
};

const rotatedSecret = {
  type: 'object',
  additionalProperties: false,
  required: ['client_id', 'client_secret', 'client_secret_expires_at', 'previous_secret_expires_at'],
  properties: {
    client_id: { type: 'string' },
    client_secret: { type: 'string', description: 'Shown this once.' },
    client_secret_expires_at: { const: 0 },
    previous_secret_expires_at: { ...dateTime, description: 'When the secret before this one stops working.' },
  },
};

const iatProperties = {
  id: { type: 'string' },
  created_at: dateTime,
  expires_at: dateTime,
  max_uses: { type: 'integer', minimum: 1 },
  uses: { type: 'integer', minimum: 0 },
  policy: { type: 'object', additionalProperties: false, properties: { redirect_uri_hosts: { type: 'array', items: { type: 'string' } } } },
};
const iat = { type: 'object', additionalProperties: false, required: ['id', 'created_at', 'expires_at', 'max_uses', 'uses'], properties: iatProperties };
const mintedIat = {
  type: 'object',
  additionalProperties: false,
  required: ['initial_access_token', ...iat.required],
  properties: { initial_access_token: { type: 'string', description: 'Shown this once; only a keyed hash is stored.' }, ...iatProperties },
};
const newIat = {
  type: 'object',
  additionalProperties: false,
  properties: {
    expires_in: { type: 'integer', minimum: 60, maximum: IAT_MAX_EXPIRES_IN, default: IAT_DEFAULT_EXPIRES_IN, description: 'Seconds.' },
    max_uses: {
      oneOf: [{ type: 'integer', minimum: 1, maximum: IAT_MAX_USES }, { const: 'single_use' }],
      default: 1,
      description: 'Clients it may register.',
    },
    policy: {
      type: 'object',
      additionalProperties: false,
      properties: { redirect_uri_hosts: { type: 'array', minItems: 1, maxItems: 20, items: { type: 'string' }, description: 'Every redirect and post-logout URI must be on one of these hosts, at registration and every update.' } },
    },
  },
};

export const clientSchemas = { NewClient: newClient, ClientChanges: clientChanges, Client: client, CreatedClient: createdClient, RotatedSecret: rotatedSecret, InitialAccessToken: iat, MintedInitialAccessToken: mintedIat, NewInitialAccessToken: newIat };

export function clientPaths(h: OpenApiHelpers) {
  const clientIdParam = { name: 'clientId', in: 'path', required: true, description: 'The client id.', schema: { type: 'string' } };
  const iatIdParam = { name: 'iatId', in: 'path', required: true, description: 'The initial access token id.', schema: { type: 'string' } };
  const optionalBody = (schema: Schema) => ({ ...h.jsonBody(schema), required: false });
  return {
    '/admin/apps/{id}/clients': {
      parameters: [h.appIdParam],
      get: {
        operationId: 'listClients',
        summary: "The app's clients, the default one first",
        responses: h.responses({ 200: h.ok('The clients.', { type: 'object', additionalProperties: false, required: ['clients'], properties: { clients: { type: 'array', items: h.ref('Client') } } }) }, { 404: 'NotFound' }),
      },
      post: {
        operationId: 'createClient',
        summary: 'Add a client to the app',
        description: `RFC 7591 metadata names, at most ${MAX_CLIENT_METADATA_BYTES / 1024} KiB as JSON. At most ${MAX_CLIENTS_PER_APP} clients besides the default one. Errors: invalid_redirect_uri, invalid_client_metadata, invalid_request (unknown field).`,
        requestBody: h.jsonBody(h.ref('NewClient')),
        responses: h.responses({ 201: h.ok('The client; its secret shown once.', h.ref('CreatedClient'), { Location: { schema: { type: 'string' } }, ...h.versionHeader('client') }) }, { ...h.withBody, 404: 'NotFound', 409: 'Conflict' }),
      },
    },
    '/admin/apps/{id}/clients/{clientId}': {
      parameters: [h.appIdParam, clientIdParam],
      get: {
        operationId: 'getClient',
        summary: 'One client',
        description: "The default client's ETag is its app's: it changes with the app (PATCH the app).",
        responses: h.responses({ 200: h.ok('The client.', h.ref('Client'), h.versionHeader('client')) }, { 404: 'NotFound' }),
      },
      patch: {
        operationId: 'updateClient',
        summary: 'Change a client (not the default one: PATCH the app)',
        description: 'With If-Match, only the version it names is changed: a change made meanwhile (an edit, an RFC 7592 update, a secret rotation) answers 412 and changes nothing.',
        parameters: [h.ifMatchParam('client')],
        requestBody: h.jsonBody(h.ref('ClientChanges')),
        responses: h.responses({ 200: h.ok('The client.', h.ref('Client'), h.versionHeader('client')) }, { ...h.withBody, 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed' }),
      },
      delete: {
        operationId: 'deleteClient',
        summary: 'Delete a client',
        description: 'Its tokens stop working at once. The default client is refused (409): it goes only with the app. With If-Match, only the version it names is deleted (412 otherwise).',
        parameters: [h.ifMatchParam('client')],
        responses: h.responses({ 204: { description: 'Deleted.' } }, { 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed' }),
      },
    },
    '/admin/apps/{id}/clients/{clientId}/secret': {
      parameters: [h.appIdParam, clientIdParam],
      post: {
        operationId: 'rotateClientSecret',
        summary: 'A new client secret; the previous one works for a grace period',
        description: `Confidential clients, the default one included. grace_period_seconds: default ${DEFAULT_SECRET_GRACE_SECONDS}, at most ${MAX_SECRET_GRACE_SECONDS}; 0 ends the previous secret at once. With If-Match (the client's ETag; the app's for the default client), only that version's secret is rotated (412 otherwise).`,
        parameters: [h.ifMatchParam('client')],
        requestBody: optionalBody({ type: 'object', additionalProperties: false, properties: { grace_period_seconds: { type: 'integer', minimum: 0, maximum: MAX_SECRET_GRACE_SECONDS, default: DEFAULT_SECRET_GRACE_SECONDS } } }),
        responses: h.responses({ 200: h.ok('The new secret, shown once.', h.ref('RotatedSecret')) }, { ...h.withBody, 404: 'NotFound', 409: 'Conflict', 412: 'PreconditionFailed' }),
      },
    },
    '/admin/apps/{id}/initial-access-tokens': {
      parameters: [h.appIdParam],
      get: {
        operationId: 'listInitialAccessTokens',
        summary: 'The initial access tokens that can still register a client (never the tokens)',
        responses: h.responses({ 200: h.ok('The tokens.', { type: 'object', additionalProperties: false, required: ['initial_access_tokens'], properties: { initial_access_tokens: { type: 'array', items: h.ref('InitialAccessToken') } } }) }, { 404: 'NotFound' }),
      },
      post: {
        operationId: 'createInitialAccessToken',
        summary: 'Mint an initial access token for Dynamic Client Registration (RFC 7591) at the app',
        requestBody: optionalBody(h.ref('NewInitialAccessToken')),
        responses: h.responses({ 201: h.ok('The token, shown once.', h.ref('MintedInitialAccessToken')) }, { ...h.withBody, 404: 'NotFound', 409: 'Conflict' }),
      },
    },
    '/admin/apps/{id}/initial-access-tokens/{iatId}': {
      parameters: [h.appIdParam, iatIdParam],
      delete: { operationId: 'revokeInitialAccessToken', summary: 'Revoke an initial access token', responses: h.responses({ 204: { description: 'Revoked.' } }, { 404: 'NotFound' }) },
    },
  };
}
