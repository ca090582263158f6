// Creating, changing and deleting apps. An app is one issuer with its own keys and its
// own client; a change takes effect at once because the cached Provider is dropped.
import { randomBytes, randomUUID } from 'node:crypto';
import { HttpError, notFound } from '../http/http-error.ts';
import { encryptSecret } from '../keys/encryption.ts';
import { generateAppKeys } from '../keys/generate-keys.ts';
import { clientSecretContext } from '../oidc/client-metadata.ts';
import type { AppRecord, Stores } from '../storage/ports.ts';
import { checkSettings, type CreateAppInput, type UpdateAppInput } from './app-input.ts';

export interface AppsServiceDeps {
  readonly stores: Stores;
  readonly kek: Buffer;
  /** Throws if oidc-provider would reject the app's client metadata. */
  readonly validateClient: (app: AppRecord) => Promise<void>;
  /** Called after every change so cached Providers are rebuilt. */
  readonly changed: (appId: string) => Promise<void>;
}

export class AppsService {
  readonly #deps: AppsServiceDeps;
  constructor(deps: AppsServiceDeps) {
    this.#deps = deps;
  }

  async create(input: CreateAppInput): Promise<{ app: AppRecord; clientSecret: string | undefined }> {
    const { kek, stores } = this.#deps;
    const id = randomUUID();
    const now = Date.now();
    const clientSecret = input.token_endpoint_auth_method === 'none' ? undefined : randomBytes(32).toString('base64url');
    const app: AppRecord = {
      id,
      name: input.name,
      redirectUris: input.redirect_uris,
      postLogoutRedirectUris: input.post_logout_redirect_uris,
      tokenEndpointAuthMethod: input.token_endpoint_auth_method,
      encryptedClientSecret: clientSecret && encryptSecret(kek, clientSecret, clientSecretContext(id)),
      settings: input.settings,
      keys: generateAppKeys(id, kek, now),
      createdAt: now,
      updatedAt: now,
    };
    await this.#deps.validateClient(app);
    await stores.apps.insert(app);
    return { app, clientSecret };
  }

  list(): Promise<AppRecord[]> {
    return this.#deps.stores.apps.list();
  }

  async get(id: string): Promise<AppRecord> {
    const app = await this.#deps.stores.apps.get(id);
    if (!app) throw notFound(`No app with id ${id}.`);
    return app;
  }

  async update(id: string, input: UpdateAppInput): Promise<AppRecord> {
    const current = await this.get(id);
    const next: AppRecord = {
      ...current,
      name: input.name ?? current.name,
      redirectUris: input.redirect_uris ?? current.redirectUris,
      postLogoutRedirectUris: input.post_logout_redirect_uris ?? current.postLogoutRedirectUris,
      settings: checkSettings({ ...current.settings, ...input.settings }),
      updatedAt: Date.now(),
    };
    await this.#deps.validateClient(next);
    if (!(await this.#deps.stores.apps.replace(next))) throw notFound(`No app with id ${id}.`);
    await this.#deps.changed(id);
    return next;
  }

  async delete(id: string): Promise<void> {
    if (!(await this.#deps.stores.apps.delete(id))) throw notFound(`No app with id ${id}.`);
    await this.#deps.changed(id);
    await this.#deps.stores.purgeApp(id);
  }
}

export function clientRejected(message: string): HttpError {
  return new HttpError(400, 'invalid_client_metadata', message);
}
