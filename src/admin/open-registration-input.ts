// The `open_registration` field of an app (POST/PATCH /admin/apps): Dynamic Client
// Registration without an initial access token, and the policy it runs under. Off unless
// given; null turns it off. Its shape, for the admin API and its documentation alike.
import { MAX_CLIENTS_PER_APP } from '../apps/clients.ts';
import { PosternError } from '../errors.ts';
import type { OpenRegistrationPolicy } from '../storage/ports.ts';
import { parseHosts } from './client-input.ts';

const CLIENT_TYPES = ['public', 'confidential'] as const;
const FIELDS = ['redirect_uri_hosts', 'max_clients', 'client_types'];

const invalid = (description: string) => new PosternError('bad_request', description);

/** The admin API's schema of the field (openapi.ts). */
export const openRegistrationSchema = {
  type: ['object', 'null'],
  additionalProperties: false,
  required: ['redirect_uri_hosts', 'max_clients'],
  description:
    'Lets anyone register clients at {issuer}/reg without an initial access token, under this policy; null (the default) turns it off. ' +
    'Token-less registrations are rate-limited per client IP and audited (client.registered with open: true).',
  properties: {
    redirect_uri_hosts: {
      type: 'array',
      minItems: 1,
      maxItems: 20,
      items: { type: 'string' },
      description: 'Every redirect, post-logout and back-channel logout URI of such a client must be on one of these hosts.',
    },
    max_clients: { type: 'integer', minimum: 1, maximum: MAX_CLIENTS_PER_APP, description: 'Clients registered this way that may exist at once.' },
    client_types: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', enum: [...CLIENT_TYPES] },
      default: [...CLIENT_TYPES],
      description: 'public: token_endpoint_auth_method none; confidential: a client secret.',
    },
  },
} as const;

/** The field as given: a policy, or null (off). */
export function parseOpenRegistration(value: unknown): OpenRegistrationPolicy | null {
  if (value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('open_registration must be an object or null.');
  for (const key of Object.keys(value)) {
    if (!FIELDS.includes(key)) throw invalid(`Unknown field "open_registration.${key.slice(0, 64)}". Allowed: ${FIELDS.join(', ')}.`);
  }
  const input = value as Record<string, unknown>;
  const max = input.max_clients;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > MAX_CLIENTS_PER_APP) {
    throw invalid(`open_registration.max_clients must be an integer between 1 and ${MAX_CLIENTS_PER_APP}.`);
  }
  const types = input.client_types ?? [...CLIENT_TYPES];
  if (!Array.isArray(types) || types.length === 0 || types.some((t) => !(CLIENT_TYPES as readonly unknown[]).includes(t))) {
    throw invalid(`open_registration.client_types must be a non-empty array of ${CLIENT_TYPES.join(', ')}.`);
  }
  return {
    redirectUriHosts: parseHosts(input.redirect_uri_hosts, 'open_registration.redirect_uri_hosts'),
    maxClients: max,
    clientTypes: [...new Set(types as OpenRegistrationPolicy['clientTypes'][number][])],
  };
}

/** The policy as the admin API shows it. */
export function openRegistrationView(policy: OpenRegistrationPolicy | undefined) {
  return policy ? { redirect_uri_hosts: [...policy.redirectUriHosts], max_clients: policy.maxClients, client_types: [...policy.clientTypes] } : null;
}
