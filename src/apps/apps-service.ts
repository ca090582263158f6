// Creating, changing and deleting apps. An app is one issuer with its own keys and its
// own client; a change takes effect at once because the cached Provider is dropped.
import { randomBytes, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.ts';
import { notFound, PosternError } from '../errors.ts';
import { clientSecretContext, encryptSecret } from '../keys/encryption.ts';
import { generateKey } from '../keys/generate-keys.ts';
import {
  initialKeys,
  keyAlgsOf,
  keysForSigning,
  maintainKeys,
  noteTokenTtl,
  replaceKeys,
  rotateKeys,
  rotationDue,
  untilPropagated,
  type KeyMaker,
} from '../keys/key-ring.ts';
import type { AppCursor, AppPage, AppRecord, AppSettings, OpenRegistrationPolicy, SigningAlg, Stores, TokenEndpointAuthMethod } from '../storage/ports.ts';
import { checkSettings } from './app-settings.ts';
import { BRANDING_FIELDS, type AppBranding } from './branding.ts';
import { checkClientOptions, DEFAULT_ID_TOKEN_ALG } from './client-options.ts';
import { nextUpdatedAt, type Precondition } from './updated-at.ts';

/** How the app's client behaves (client-options.ts); each left out takes its default. */
export interface ClientChoices {
  readonly requirePkce?: boolean;
  readonly idTokenSignedResponseAlg?: SigningAlg;
  /** null: responses unsigned (plain JSON). */
  readonly userinfoSignedResponseAlg?: SigningAlg | null;
  readonly introspectionSignedResponseAlg?: SigningAlg | null;
}

/** The app's endpoints beyond its redirect URIs (AppRecord); absent: none. */
export interface AppEndpoints {
  readonly backchannelLogoutUri?: string | undefined;
  readonly backchannelLogoutSessionRequired?: boolean | undefined;
  readonly initiateLoginUri?: string | undefined;
  /** Registration without an initial access token, under this policy (oidc/open-registration.ts). */
  readonly openRegistration?: OpenRegistrationPolicy | undefined;
}

/** A new app, as validated by the caller. */
export interface NewApp extends ClientChoices, AppEndpoints, AppBranding {
  readonly name: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  readonly settings: AppSettings;
}

/**
 * A change to an app: fields left out stay as they are; settings are merged; null unsets
 * an optional signing algorithm or removes an endpoint.
 */
export interface AppChanges extends ClientChoices, EndpointChanges, BrandingChanges {
  readonly name?: string;
  readonly redirectUris?: readonly string[];
  readonly postLogoutRedirectUris?: readonly string[];
  readonly settings: Partial<AppSettings>;
}

/** In a change, null removes an endpoint. */
type EndpointChanges = { readonly [K in keyof AppEndpoints]?: AppEndpoints[K] | null };

/** In a change, null removes a branding field. */
type BrandingChanges = { readonly [K in keyof AppBranding]?: AppBranding[K] | null };

const OPTION_FIELDS = [
  'requirePkce',
  'idTokenSignedResponseAlg',
  'userinfoSignedResponseAlg',
  'introspectionSignedResponseAlg',
  'backchannelLogoutUri',
  'backchannelLogoutSessionRequired',
  'initiateLoginUri',
  ...(Object.keys(BRANDING_FIELDS) as (keyof AppBranding)[]),
  'openRegistration',
] as const;

/**
 * `app` with the client choices and endpoints `changes` makes: one left out keeps what the
 * app has, null unsets it (nothing undefined or null is stored: MongoDB would keep it as
 * null).
 */
function withChoices<T extends Partial<AppRecord>>(app: T, changes: ClientChoices & EndpointChanges & BrandingChanges): T {
  const next: Record<string, unknown> = { ...app };
  for (const field of OPTION_FIELDS) {
    const value = changes[field];
    if (value === null) delete next[field];
    else if (value !== undefined) next[field] = value;
  }
  return next as T;
}

export interface AppsServiceDeps {
  readonly stores: Pick<Stores, 'apps' | 'purgeApp'>;
  readonly clock: Clock;
  readonly kek: Buffer;
  /** Throws if oidc-provider would reject the app's client metadata. */
  readonly validateClient: (app: AppRecord) => Promise<void>;
  /** Called after every change so cached Providers are rebuilt. */
  readonly changed: (appId: string) => Promise<void>;
}

/** What scheduled key upkeep did to one app. */
export type KeyUpkeep = 'rotated' | 'maintained' | 'unchanged' | 'gone';

/** Attempts of a read-modify-write before giving up on a record that keeps changing. */
const WRITE_ATTEMPTS = 10;

/** A write that kept losing its compare-and-replace. */
const concurrentChange = () => new PosternError('conflict', 'The app was changed by another request at the same time; try again.');

export class AppsService {
  readonly #deps: AppsServiceDeps;
  constructor(deps: AppsServiceDeps) {
    this.#deps = deps;
  }

  async create(input: NewApp): Promise<{ app: AppRecord; clientSecret: string | undefined }> {
    const { kek, stores } = this.#deps;
    const id = randomUUID();
    const now = this.#deps.clock.now();
    const clientSecret = input.tokenEndpointAuthMethod === 'none' ? undefined : randomBytes(32).toString('base64url');
    const unkeyed: AppRecord = withChoices(
      {
        id,
        name: input.name,
        redirectUris: input.redirectUris,
        postLogoutRedirectUris: input.postLogoutRedirectUris,
        tokenEndpointAuthMethod: input.tokenEndpointAuthMethod,
        encryptedClientSecret: clientSecret && encryptSecret(kek, clientSecret, clientSecretContext(id)),
        settings: input.settings,
        requirePkce: true,
        idTokenSignedResponseAlg: DEFAULT_ID_TOKEN_ALG,
        keys: [],
        createdAt: now,
        updatedAt: now,
      },
      input,
    );
    checkClientOptions(unkeyed);
    const app: AppRecord = { ...unkeyed, keys: await initialKeys(this.#keyMaker(id), now, input.settings.id_token_ttl, keyAlgsOf(unkeyed)) };
    await this.#deps.validateClient(app);
    await stores.apps.insert(app);
    return { app, clientSecret };
  }

  /** One page of apps, oldest first (AppStore.page). */
  page(limit: number, after?: AppCursor): Promise<AppPage> {
    return this.#deps.stores.apps.page(limit, after);
  }

  async get(id: string): Promise<AppRecord> {
    const app = await this.#deps.stores.apps.get(id);
    if (!app) throw notFound(`No app with id ${id}.`);
    return app;
  }

  async update(id: string, changes: AppChanges, precondition?: Precondition): Promise<AppRecord> {
    // Compare-and-replace, so a PATCH never writes back keys a concurrent rotation replaced.
    return this.#writeExisting(id, async (current) => {
      precondition?.(current);
      const now = this.#deps.clock.now();
      const settings = checkSettings({ ...current.settings, ...changes.settings });
      const changed: AppRecord = withChoices(
        {
          ...current,
          name: changes.name ?? current.name,
          redirectUris: changes.redirectUris ?? current.redirectUris,
          postLogoutRedirectUris: changes.postLogoutRedirectUris ?? current.postLogoutRedirectUris,
          settings,
          keys: noteTokenTtl(current.keys, settings.id_token_ttl),
          updatedAt: nextUpdatedAt(current, now),
        },
        changes,
      );
      checkClientOptions(changed);
      // A response newly signed with an algorithm the app has no key of gets its keys in
      // this same write, so the rebuilt Provider never lacks the key it is told to sign with.
      const next = { ...changed, keys: (await keysForSigning(changed, now, this.#keyMaker(id))) ?? changed.keys };
      await this.#deps.validateClient(next);
      return next;
    });
  }

  /**
   * Rotates the app's signing keys now (see src/keys/key-ring.ts): one compare-and-replace
   * of the record, then every instance rebuilds the app's Provider. A rotation that loses
   * a race with another write is recomputed on the record that won. A rotation refuses to
   * promote next keys that relying parties may not have fetched yet (409 with
   * Retry-After); `immediate` replaces every key at once, for a compromised key.
   */
  async rotateKeys(id: string, options: { immediate?: boolean; precondition?: Precondition | undefined } = {}): Promise<AppRecord> {
    return this.#writeExisting(id, async (current) => {
      options.precondition?.(current);
      const now = this.#deps.clock.now();
      if (options.immediate) return { ...current, keys: await replaceKeys(current, now, this.#keyMaker(id)), updatedAt: nextUpdatedAt(current, now) };
      const wait = untilPropagated(current, now);
      if (wait > 0) {
        const seconds = Math.ceil(wait / 1000);
        throw new PosternError(
          'conflict',
          `The next signing keys were published less than 10 minutes ago, so relying parties may not have fetched them yet; rotate again in ${seconds} s, or rotate with immediate=true if a key is compromised.`,
          { 'Retry-After': String(seconds) },
        );
      }
      return { ...current, keys: await rotateKeys(current, now, this.#keyMaker(id)), updatedAt: nextUpdatedAt(current, now) };
    });
  }

  /**
   * Scheduled upkeep of one app's keys: rotates them when the current keys have been
   * current for `rotateEveryMs` (0: never), otherwise drops retired keys and fills in a
   * missing next key. Safe to run on many instances at once: the loser of a concurrent
   * write re-reads the record and re-decides, so one due rotation happens once.
   */
  /**
   * `seen`: the record as just read (a page of the key upkeep pass), decided on without
   * reading it again; a write made on it is still a compare-and-replace, so a record
   * changed meanwhile is re-read and decided again.
   */
  async maintainKeys(id: string, rotateEveryMs: number, seen?: AppRecord): Promise<KeyUpkeep> {
    let outcome: KeyUpkeep = 'unchanged';
    const written = await this.#write(id, async (current) => {
      const now = this.#deps.clock.now();
      if (rotateEveryMs > 0 && rotationDue(current, now, rotateEveryMs)) {
        outcome = 'rotated';
        return { ...current, keys: await rotateKeys(current, now, this.#keyMaker(id)), updatedAt: nextUpdatedAt(current, now) };
      }
      const keys = await maintainKeys(current, now, this.#keyMaker(id));
      outcome = keys ? 'maintained' : 'unchanged';
      return keys && { ...current, keys, updatedAt: nextUpdatedAt(current, now) };
    }, seen);
    return written ? outcome : 'gone';
  }

  /**
   * One change to the app's record by a service that keeps its data there (its further
   * clients, clients-service.ts; its APIs, api-resources.ts): `change` gets the stored
   * record and the time and returns the record to write (or throws); written by the same
   * compare-and-replace, recomputed on a concurrent change, as every other write, then every
   * instance rebuilds the app's Provider.
   */
  async modify(id: string, change: (current: AppRecord, now: number) => AppRecord | Promise<AppRecord>): Promise<AppRecord> {
    return this.#writeExisting(id, async (current) => {
      const now = this.#deps.clock.now();
      return { ...(await change(current, now)), id, updatedAt: nextUpdatedAt(current, now) };
    });
  }

  /**
   * `app`'s keys with those added that it needs to sign as its clients now say (a further
   * client's, in the caller's write: clients-service.ts).
   */
  async keysFor(app: AppRecord): Promise<AppRecord['keys']> {
    return (await keysForSigning(app, this.#deps.clock.now(), this.#keyMaker(app.id))) ?? app.keys;
  }

  /**
   * Adds keys for `algs` the app has none of, in one write of their own: for a client
   * about to register with them through the engine, which judges a registration by the
   * keys its Provider holds (oidc/registrable-algorithms.ts). Writes nothing when none is missing.
   */
  async addSigningKeys(id: string, algs: readonly SigningAlg[]): Promise<void> {
    await this.#writeExisting(id, async (current) => {
      const now = this.#deps.clock.now();
      const keys = await keysForSigning(current, now, this.#keyMaker(id), algs);
      return keys && { ...current, keys, updatedAt: nextUpdatedAt(current, now) };
    });
  }

  #keyMaker(appId: string): KeyMaker {
    return (alg) => generateKey(appId, this.#deps.kek, alg, this.#deps.clock.now());
  }

  /** #write for a caller that names an app: a missing app is not_found. */
  async #writeExisting(id: string, change: (current: AppRecord) => Promise<AppRecord | undefined>): Promise<AppRecord> {
    const written = await this.#write(id, change);
    if (!written) throw notFound(`No app with id ${id}.`);
    return written;
  }

  /**
   * Read (or start from `seen`), change, compare-and-replace on `updatedAt`, retried on a
   * concurrent change (re-reading the record); then
   * the cached Providers are dropped everywhere. `change` returns undefined for "nothing
   * to write". One write per change, so the record is never seen half-done. Resolves to
   * undefined when the app does not exist (or was deleted meanwhile).
   */
  async #write(id: string, change: (current: AppRecord) => Promise<AppRecord | undefined>, seen?: AppRecord): Promise<AppRecord | undefined> {
    const { apps } = this.#deps.stores;
    for (let attempt = 1; ; attempt++) {
      const current = attempt === 1 && seen?.id === id ? seen : await apps.get(id);
      if (!current) return undefined;
      const next = await change(current);
      if (!next) return current;
      if (await apps.replace(next, current.updatedAt)) {
        await this.#deps.changed(id);
        return next;
      }
      // Lost a race: the next round re-reads (and finds no app if it was deleted).
      if (attempt >= WRITE_ATTEMPTS) throw concurrentChange();
    }
  }

  /**
   * The first half of deleting an app: takes it out of every read and leaves its deletion
   * mark, in one write. True when this call did; false when the app was deleted already and
   * its mark is still kept (an earlier deletion's purge may have failed: the caller purges
   * again). Not found once the mark is forgotten (deletion-sweeper.ts), or for an unknown id.
   */
  async markDeleted(id: string, precondition?: Precondition): Promise<boolean> {
    const { apps } = this.#deps.stores;
    if (!precondition) {
      if (await apps.delete(id, this.#deps.clock.now())) return true;
    } else {
      // Compare-and-delete: the version the precondition passed is the one deleted.
      for (let attempt = 1, current = await apps.get(id); current; attempt++, current = await apps.get(id)) {
        precondition(current);
        if (await apps.delete(id, this.#deps.clock.now(), current.updatedAt)) return true;
        if (attempt >= WRITE_ATTEMPTS) throw concurrentChange();
      }
    }
    if (await apps.deletion(id)) return false;
    throw notFound(`No app with id ${id}.`);
  }

  /**
   * The second half: drops the app's cached Providers everywhere, removes its data and notes
   * on the mark when this purge began (returned, epoch ms). Safe to repeat: a failure leaves
   * the mark without that note, and a repeated DELETE or the sweeper finishes it.
   */
  async purge(id: string): Promise<number> {
    const startedAt = this.#deps.clock.now();
    await this.#deps.changed(id);
    await this.#deps.stores.purgeApp(id);
    await this.#deps.stores.apps.purged(id, startedAt);
    return startedAt;
  }
}
