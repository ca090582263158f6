// An app's further clients and the initial access tokens that let apps register their own
// (RFC 7591): created by the admin API or by Dynamic Client Registration, changed,
// deleted, their secrets rotated. Every change is one compare-and-replace of the app's
// record (apps-service.ts), so a registration that spends an initial access token's last
// use and the client it registers are written together or not at all, and a client's new
// signing keys arrive in the same write as the client that signs with them.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { notFound, PosternError } from '../errors.ts';
import { clientSecretContext, encryptSecret } from '../keys/encryption.ts';
import type { AppRecord, ClientRecord, InitialAccessTokenRecord } from '../storage/ports.ts';
import type { AppsService } from './apps-service.ts';
import {
  findClient,
  initialAccessTokenHash,
  isDefaultClient,
  MAX_CLIENTS_PER_APP,
  MAX_INITIAL_ACCESS_TOKENS,
  usableInitialAccessToken,
} from './clients.ts';
import { nextUpdatedAt, type Precondition } from './updated-at.ts';

export interface ClientsServiceDeps {
  readonly apps: AppsService;
  readonly clock: Clock;
  readonly kek: Buffer;
  /** Throws invalid_client_metadata or invalid_redirect_uri when the engine would refuse the metadata (engine.ts, A10). */
  readonly validateMetadata: (metadata: Record<string, unknown>) => Promise<void>;
}

/** A client to add: its metadata as validated by its caller, and its secret when the engine made it (registration). */
export interface NewClient {
  readonly metadata: Record<string, unknown>;
  readonly origin: ClientRecord['origin'];
  /** Registration: the id and secret the engine made. Admin API: left out, made here. */
  readonly clientId?: string;
  readonly secret?: string;
  /** Registration: the hash of the initial access token presented, which must have a use left. */
  readonly initialAccessTokenHash?: string;
}

/** Why open registration refuses a client, judged in the write that would store it. */
function openRegistrationRefusal(app: AppRecord, metadata: Record<string, unknown>): PosternError | undefined {
  const policy = app.openRegistration;
  if (!policy) return new PosternError('unauthenticated', 'Registration needs an initial access token: open registration is off for this app.');
  const type = needsSecret(metadata) ? 'confidential' : 'public';
  if (!policy.clientTypes.includes(type)) {
    return new PosternError('invalid_client_metadata', `Open registration registers ${policy.clientTypes.join(' and ')} clients only (token_endpoint_auth_method).`);
  }
  const open = (app.clients ?? []).filter((c) => c.origin === 'open_registration').length;
  if (open >= policy.maxClients) return new PosternError('conflict', `Open registration is full: this app has its ${policy.maxClients} openly registered clients.`);
  return undefined;
}

export interface NewInitialAccessToken {
  readonly expiresIn: number;
  readonly maxUses: number;
  readonly redirectUriHosts?: readonly string[] | undefined;
}

/** Fields that are the record's own, never metadata. */
const NOT_METADATA = ['client_id', 'client_secret', 'registration_access_token', 'registration_client_uri'];

function storedMetadata(metadata: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(metadata).filter(([key, value]) => !NOT_METADATA.includes(key) && value !== undefined && value !== null));
}

const needsSecret = (metadata: Record<string, unknown>) => (metadata.token_endpoint_auth_method ?? 'none') !== 'none';

/**
 * 128 random bits, base64url, never starting with `-`: an id is typed as a command-line
 * argument (`postern clients show APP ID`), where a leading dash reads as an option. A
 * drawn id that starts with one is drawn again (1 in 64), which leaves 127.9 bits.
 */
export function newClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
const newSecret = () => randomBytes(32).toString('base64url');

export class ClientsService {
  readonly #deps: ClientsServiceDeps;
  constructor(deps: ClientsServiceDeps) {
    this.#deps = deps;
  }

  async list(appId: string): Promise<{ app: AppRecord; clients: readonly ClientRecord[] }> {
    const app = await this.#deps.apps.get(appId);
    return { app, clients: app.clients ?? [] };
  }

  async get(appId: string, clientId: string): Promise<{ app: AppRecord; client: ClientRecord }> {
    const app = await this.#deps.apps.get(appId);
    return { app, client: this.#existing(app, clientId) };
  }

  /** Adds a client; the secret comes back in clear once (confidential clients only). */
  async add(appId: string, input: NewClient): Promise<{ app: AppRecord; client: ClientRecord; secret: string | undefined }> {
    const clientId = input.clientId ?? newClientId();
    const secret = needsSecret(input.metadata) ? (input.secret ?? newSecret()) : undefined;
    const now = this.#deps.clock.now();
    const metadata = {
      ...storedMetadata(input.metadata),
      client_id_issued_at: Math.floor(now / 1000),
      ...(secret !== undefined && { client_secret_expires_at: 0 }),
    };
    await this.#validate(clientId, metadata, secret);
    let record!: ClientRecord;
    const app = await this.#deps.apps.modify(appId, async (current) => {
      if (isDefaultClient(current, clientId) || findClient(current, clientId)) throw new PosternError('conflict', `A client with id ${clientId} exists.`);
      const clients = current.clients ?? [];
      if (clients.length >= MAX_CLIENTS_PER_APP) {
        throw new PosternError('conflict', `An app has at most ${MAX_CLIENTS_PER_APP} clients besides its default one; delete one first.`);
      }
      const refused = input.origin === 'open_registration' ? openRegistrationRefusal(current, metadata) : undefined;
      if (refused) throw refused;
      const spent = input.initialAccessTokenHash === undefined ? undefined : this.#spend(current, input.initialAccessTokenHash);
      const hosts = input.origin === 'open_registration' ? current.openRegistration!.redirectUriHosts : spent?.redirectUriHosts;
      record = {
        clientId,
        metadata,
        ...(secret !== undefined && { encryptedClientSecret: encryptSecret(this.#deps.kek, secret, clientSecretContext(appId, clientId)) }),
        origin: input.origin,
        ...(hosts && { redirectUriHosts: hosts }),
        createdAt: now,
        updatedAt: now,
      };
      const next: AppRecord = {
        ...current,
        clients: [...clients, record],
        ...(spent && { initialAccessTokens: spent.tokens }),
      };
      // Keys for the algorithms the client signs with arrive in the same write (key-ring.ts).
      return { ...next, keys: await this.#deps.apps.keysFor(next) };
    });
    return { app, client: record, secret };
  }

  /**
   * Replaces a client's metadata (its id, secret and origin stay) with what `change` makes
   * of the client as this write finds it: a PATCH merged onto a copy read before the write
   * would put back whatever another write changed in between.
   */
  async update(
    appId: string,
    clientId: string,
    change: (existing: ClientRecord) => Record<string, unknown>,
  ): Promise<{ app: AppRecord; client: ClientRecord }> {
    let record!: ClientRecord;
    const app = await this.#deps.apps.modify(appId, async (current, now) => {
      const existing = this.#existing(current, clientId);
      const next = {
        ...storedMetadata(change(existing)),
        client_id_issued_at: existing.metadata.client_id_issued_at,
        ...(existing.encryptedClientSecret && { client_secret_expires_at: 0 }),
      };
      if (needsSecret(next) !== !!existing.encryptedClientSecret) {
        throw new PosternError('invalid_client_metadata', 'token_endpoint_auth_method cannot change between none and a client secret; register a new client instead.');
      }
      await this.#validate(clientId, next, existing.encryptedClientSecret && 'placeholder-secret-for-validation');
      record = { ...existing, metadata: next, updatedAt: nextUpdatedAt(existing, now) };
      const written: AppRecord = { ...current, clients: current.clients!.map((c) => (c.clientId === clientId ? record : c)) };
      return { ...written, keys: await this.#deps.apps.keysFor(written) };
    });
    return { app, client: record };
  }

  /** Removes the client: the engine no longer finds it, so its tokens stop working at once (engine.ts, A21). */
  async delete(appId: string, clientId: string, precondition?: Precondition): Promise<ClientRecord> {
    let removed!: ClientRecord;
    await this.#deps.apps.modify(appId, async (current) => {
      removed = this.#existing(current, clientId);
      precondition?.(removed);
      return { ...current, clients: current.clients!.filter((c) => c.clientId !== clientId) };
    });
    return removed;
  }

  /**
   * A new secret for a confidential client (the default one too); the previous secret
   * works for `graceSeconds` more, so back ends can switch over, then never again.
   */
  async rotateSecret(appId: string, clientId: string, graceSeconds: number, precondition?: Precondition): Promise<{ secret: string; previousSecretExpiresAt: number }> {
    const secret = newSecret();
    const now = this.#deps.clock.now();
    const until = now + graceSeconds * 1000;
    const sealed = encryptSecret(this.#deps.kek, secret, clientSecretContext(appId, clientId));
    const publicClient = () => new PosternError('conflict', 'This is a public client (token_endpoint_auth_method none): it has no secret to rotate.');
    await this.#deps.apps.modify(appId, async (current) => {
      if (isDefaultClient(current, clientId)) {
        precondition?.(current);
        if (!current.encryptedClientSecret) throw publicClient();
        return { ...current, encryptedClientSecret: sealed, previousEncryptedClientSecret: current.encryptedClientSecret, previousClientSecretExpiresAt: until };
      }
      const existing = this.#existing(current, clientId);
      precondition?.(existing);
      if (!existing.encryptedClientSecret) throw publicClient();
      const rotated: ClientRecord = {
        ...existing,
        encryptedClientSecret: sealed,
        previousEncryptedSecret: existing.encryptedClientSecret,
        previousSecretExpiresAt: until,
        updatedAt: nextUpdatedAt(existing, now),
      };
      return { ...current, clients: current.clients!.map((c) => (c.clientId === clientId ? rotated : c)) };
    });
    return { secret, previousSecretExpiresAt: until };
  }

  /** Mints an initial access token; it is returned once, only its keyed hash is stored. */
  async mintInitialAccessToken(appId: string, input: NewInitialAccessToken): Promise<{ token: string; record: InitialAccessTokenRecord }> {
    const token = randomBytes(32).toString('base64url');
    const now = this.#deps.clock.now();
    const record: InitialAccessTokenRecord = {
      id: randomUUID(),
      tokenHash: initialAccessTokenHash(this.#deps.kek, token),
      createdAt: now,
      expiresAt: now + input.expiresIn * 1000,
      maxUses: input.maxUses,
      uses: 0,
      ...(input.redirectUriHosts && { redirectUriHosts: [...input.redirectUriHosts] }),
    };
    await this.#deps.apps.modify(appId, async (current) => {
      const kept = this.#live(current, now);
      if (kept.length >= MAX_INITIAL_ACCESS_TOKENS) {
        throw new PosternError('conflict', `An app has at most ${MAX_INITIAL_ACCESS_TOKENS} usable initial access tokens; revoke one first.`);
      }
      return { ...current, initialAccessTokens: [...kept, record] };
    });
    return { token, record };
  }

  async initialAccessTokens(appId: string): Promise<InitialAccessTokenRecord[]> {
    return this.#live(await this.#deps.apps.get(appId), this.#deps.clock.now());
  }

  async revokeInitialAccessToken(appId: string, id: string): Promise<void> {
    await this.#deps.apps.modify(appId, async (current) => {
      if (!current.initialAccessTokens?.some((t) => t.id === id)) throw notFound(`No initial access token with id ${id.slice(0, 64)}.`);
      return { ...current, initialAccessTokens: current.initialAccessTokens.filter((t) => t.id !== id) };
    });
  }

  /** The app's initial access tokens that can still register a client. */
  #live(app: AppRecord, now: number): InitialAccessTokenRecord[] {
    return (app.initialAccessTokens ?? []).filter((t) => now < t.expiresAt && t.uses < t.maxUses);
  }

  /** One use of the token, in the write that registers the client; refused when none is left. */
  #spend(app: AppRecord, tokenHash: string) {
    const now = this.#deps.clock.now();
    const token = usableInitialAccessToken(app, tokenHash, now);
    if (!token) throw new PosternError('unauthenticated', 'The initial access token is unknown, expired, revoked or used up.');
    const spent = { ...token, uses: token.uses + 1 };
    return { redirectUriHosts: token.redirectUriHosts, tokens: this.#live({ ...app, initialAccessTokens: app.initialAccessTokens!.map((t) => (t.id === token.id ? spent : t)) }, now) };
  }

  #existing(app: AppRecord, clientId: string): ClientRecord {
    if (isDefaultClient(app, clientId)) {
      throw new PosternError('conflict', "This is the app's default client (client_id = app id): change it through PATCH /admin/apps/{id}; it goes only with the app.");
    }
    const client = findClient(app, clientId);
    if (!client) throw notFound(`No client with id ${clientId.slice(0, 64)} in this app.`);
    return client;
  }

  /** The engine's rules, with a stand-in secret for a confidential client (its real one is not needed to judge metadata). */
  async #validate(clientId: string, metadata: Record<string, unknown>, secret: string | undefined): Promise<void> {
    await this.#deps.validateMetadata({ ...metadata, client_id: clientId, ...(secret !== undefined && { client_secret: secret }) });
  }
}
