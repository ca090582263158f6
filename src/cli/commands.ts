// Every command is one entry of this table: the admin API route it calls, its flags and
// how its answer is shown. Positional arguments are the route's path parameters, in order.
// A new admin route is a new entry (or, for a collection with the usual five routes, one
// collection() call).

export type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/** A shorthand flag for one body field: `--redirect-uri X` is `--set redirect_uris=X`. */
export interface FieldFlag {
  readonly field: string;
  /** The field's type where the server's document does not describe it (a list: each use adds an item). */
  readonly type?: 'integer' | 'list';
  readonly help: string;
}

/** A flag that becomes a query parameter. */
export interface QueryFlag {
  readonly param: string;
  readonly boolean?: true;
  readonly help: string;
}

/** A route that answers in pages: the CLI follows the cursor until --limit items (or --all). */
export interface Paging {
  readonly items: string;
  readonly next: string;
  readonly cursorParam: string;
  readonly limitParam: string;
  readonly maxPage: number;
  readonly defaultLimit: number;
}

export type View =
  | { readonly kind: 'list'; readonly key: string; readonly columns: readonly string[] }
  | { readonly kind: 'record' }
  /** An answer without a body; `{name}` is replaced by the argument. */
  | { readonly kind: 'done'; readonly message: string };

export interface Command {
  readonly words: readonly string[];
  readonly summary: string;
  readonly method: Method;
  readonly path: string;
  readonly body?: 'optional' | 'required';
  readonly fields?: Readonly<Record<string, FieldFlag>>;
  readonly query?: Readonly<Record<string, QueryFlag>>;
  readonly paging?: Paging;
  /** Destroys something: refused without --yes. */
  readonly confirm?: true;
  readonly view: View;
  readonly example: string;
}

/** Fields the server shows once (a client secret, an initial access token): printed with a warning to store them. */
export const SHOWN_ONCE = ['client_secret', 'initial_access_token', 'registration_access_token'] as const;

interface Collection {
  /** The command's first word, also the list's field in the answer. */
  readonly group: string;
  /** What one item is called in messages, also its path parameter. */
  readonly noun: string;
  /** The collection's path (default: the app's, /admin/apps/{app}/{group}); one item's is this with /{noun} after it. */
  readonly list?: string;
  readonly columns: readonly string[];
  /** When the list route answers a page at a time: how to follow it (--limit, --cursor, --all). */
  readonly paging?: Paging;
  readonly fields: Readonly<Record<string, FieldFlag>>;
  readonly createExample: string;
  readonly updateExample: string;
}

/** list, create, show, update, delete of one collection. */
function collection(c: Collection): Command[] {
  const list = c.list ?? `/admin/apps/{app}/${c.group}`;
  const item = `${list}/{${c.noun}}`;
  const a = `${/^[aeiou]/.test(c.noun) ? 'an' : 'a'} ${c.noun}`;
  const example = (word: string, path: string, more = '') => ['postern', c.group, word, exampleArgs(path), more].filter(Boolean).join(' ');
  const withBody = (word: string, method: Method, path: string, summary: string, more: string): Command => ({
    words: [c.group, word], summary, method, path, body: 'required', fields: c.fields, view: { kind: 'record' }, example: example(word, path, more),
  });
  return [
    {
      words: [c.group, 'list'],
      summary: `List ${c.group}`,
      method: 'GET',
      path: list,
      ...(c.paging && { query: { cursor: { param: c.paging.cursorParam, help: `continue after an earlier page (its ${c.paging.next})` } }, paging: c.paging }),
      view: { kind: 'list', key: c.group, columns: c.columns },
      example: example('list', list, c.paging ? '--all' : ''),
    },
    withBody('create', 'POST', list, `Create ${a}`, c.createExample),
    { words: [c.group, 'show'], summary: `Show one ${c.noun}`, method: 'GET', path: item, view: { kind: 'record' }, example: example('show', item) },
    withBody('update', 'PATCH', item, `Change the given fields of ${a}`, c.updateExample),
    {
      words: [c.group, 'delete'],
      summary: `Delete ${a}${c.noun === 'app' ? ' with all its data (sessions, tokens, accounts, audit trail)' : ''}`,
      method: 'DELETE',
      path: item,
      confirm: true,
      view: { kind: 'done', message: `Deleted ${c.noun} {${c.noun}}.` },
      example: example('delete', item, '--yes'),
    },
  ];
}

const APP = 'b1f0c3de-5a8e-4c1b-9d2f-6e7a8b9c0d1e';

/** A path's arguments as an example shows them: a sample app id, placeholders for the rest. */
function exampleArgs(path: string): string {
  return [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => (name === 'app' ? APP : `<${name}_id>`)).join(' ');
}
/** The query and paging of an audit trail: an app's and the instance's. */
const AUDIT_QUERY = {
  query: {
    type: { param: 'type', help: 'only events of this type, e.g. link.requested' },
    email: { param: 'email', help: 'only events for this address' },
    from: { param: 'from', help: 'events at or after this time (ISO 8601 or epoch ms)' },
    to: { param: 'to', help: 'events before this time (ISO 8601 or epoch ms)' },
    cursor: { param: 'cursor', help: 'continue after an earlier page (its next_cursor)' },
  },
  paging: { items: 'events', next: 'next_cursor', cursorParam: 'cursor', limitParam: 'limit', maxPage: 500, defaultLimit: 100 },
} satisfies Pick<Command, 'query' | 'paging'>;

const redirectUri: FieldFlag = { field: 'redirect_uris', type: 'list', help: 'a redirect URI (repeat for more; replaces the list)' };

export const COMMANDS: readonly Command[] = [
  ...collection({
    group: 'apps',
    noun: 'app',
    list: '/admin/apps',
    columns: ['app_id', 'name', 'token_endpoint_auth_method', 'redirect_uris'],
    paging: { items: 'apps', next: 'next_cursor', cursorParam: 'cursor', limitParam: 'limit', maxPage: 500, defaultLimit: 100 },
    fields: { name: { field: 'name', help: 'the name shown on the login page and in mail' }, 'redirect-uri': redirectUri },
    createExample: '--name "Example" --redirect-uri https://app.example.com/callback',
    updateExample: '--set id_token_ttl=900',
  }),
  {
    words: ['keys', 'rotate'],
    summary: "Rotate an app's signing keys now",
    method: 'POST',
    path: '/admin/apps/{app}/keys/rotate',
    query: { immediate: { param: 'immediate', boolean: true, help: 'replace every key at once, for a compromised key (tokens already issued stop verifying)' } },
    view: { kind: 'record' },
    example: `postern keys rotate ${APP}`,
  },
  {
    words: ['audit'],
    summary: "An app's audit events, newest first",
    method: 'GET',
    path: '/admin/apps/{app}/audit',
    ...AUDIT_QUERY,
    view: { kind: 'list', key: 'events', columns: ['at', 'type', 'outcome', 'email', 'client_id', 'reason', 'ip'] },
    example: `postern audit ${APP} --type link.requested --from 2026-01-01T00:00:00Z --limit 50`,
  },
  {
    words: ['instance-audit'],
    summary: 'Events that outlive their app (app deletions), newest first',
    method: 'GET',
    path: '/admin/audit',
    ...AUDIT_QUERY,
    view: { kind: 'list', key: 'events', columns: ['at', 'type', 'outcome', 'app_id', 'ip', 'request_id'] },
    example: 'postern instance-audit --type admin.app_deleted --limit 20',
  },
  {
    words: ['sign-outs'],
    summary: "Sign an account out of an app (its sessions and grants end; the app's back end is told)",
    method: 'POST',
    path: '/admin/apps/{app}/sign-outs',
    body: 'required',
    fields: { email: { field: 'email', help: 'the account\'s address' } },
    view: { kind: 'record' },
    example: `postern sign-outs ${APP} --email someone@example.com`,
  },
  ...collection({
    group: 'clients',
    noun: 'client',
    columns: ['client_id', 'client_name', 'token_endpoint_auth_method', 'redirect_uris'],
    fields: {
      name: { field: 'client_name', help: 'the client\'s name (client_name)' },
      'redirect-uri': redirectUri,
      'auth-method': { field: 'token_endpoint_auth_method', help: 'none, client_secret_basic or client_secret_post' },
    },
    createExample: '--name "Back office" --redirect-uri https://admin.example.com/cb --auth-method client_secret_basic',
    updateExample: '--redirect-uri https://admin.example.com/cb --redirect-uri https://admin.example.com/cb2',
  }),
  {
    words: ['clients', 'rotate-secret'],
    summary: "Give a client a new secret (shown once); the old one works for the grace period",
    method: 'POST',
    path: '/admin/apps/{app}/clients/{client}/secret',
    body: 'optional',
    fields: { 'grace-period': { field: 'grace_period_seconds', type: 'integer', help: 'seconds the old secret keeps working' } },
    view: { kind: 'record' },
    example: `postern clients rotate-secret ${APP} <client_id> --grace-period 3600`,
  },
  {
    words: ['initial-access-tokens', 'create'],
    summary: 'Create an initial access token for dynamic client registration (shown once)',
    method: 'POST',
    path: '/admin/apps/{app}/initial-access-tokens',
    body: 'optional',
    fields: {
      'expires-in': { field: 'expires_in', type: 'integer', help: 'seconds until it expires' },
      'max-uses': { field: 'max_uses', type: 'integer', help: 'how many registrations it allows' },
      'redirect-uri-host': { field: 'policy.redirect_uri_hosts', type: 'list', help: 'a host registered redirect URIs must have (repeat for more)' },
    },
    view: { kind: 'record' },
    example: `postern initial-access-tokens create ${APP} --expires-in 86400 --max-uses 1 --redirect-uri-host app.example.com`,
  },
  {
    words: ['initial-access-tokens', 'list'],
    summary: "List an app's initial access tokens",
    method: 'GET',
    path: '/admin/apps/{app}/initial-access-tokens',
    view: { kind: 'list', key: 'initial_access_tokens', columns: ['id', 'expires_at', 'max_uses', 'uses', 'policy'] },
    example: `postern initial-access-tokens list ${APP}`,
  },
  {
    words: ['initial-access-tokens', 'revoke'],
    summary: 'Revoke an initial access token',
    method: 'DELETE',
    path: '/admin/apps/{app}/initial-access-tokens/{token}',
    confirm: true,
    view: { kind: 'done', message: 'Revoked initial access token {token}.' },
    example: `postern initial-access-tokens revoke ${APP} <token_id> --yes`,
  },
  ...collection({
    group: 'resources',
    noun: 'resource',
    columns: ['id', 'identifier', 'scopes', 'access_token_ttl'],
    fields: {
      identifier: { field: 'identifier', help: 'the resource indicator (an https URL)' },
      scope: { field: 'scopes', type: 'list', help: 'a scope of the resource (repeat for more; replaces the list)' },
      'access-token-ttl': { field: 'access_token_ttl', type: 'integer', help: 'lifetime of its access tokens, in seconds' },
    },
    createExample: '--identifier https://api.example.com --scope read --scope write',
    updateExample: '--access-token-ttl 600',
  }),
];

/** The path parameters of a command, in order: its positional arguments. */
export function argumentsOf(command: Command): string[] {
  return [...command.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
}
