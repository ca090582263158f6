// The APIs an app protects (RFC 8707 resource indicators): each is stored on the app's
// record, so a change rebuilds the app's Provider on every instance (the app-change bus)
// and the engine answers from memory which APIs exist (oidc/resource-indicators.ts). The
// admin input is parsed in admin/resource-input.ts; the rules that depend on the app's
// other resources are checked here, inside the compare-and-replace write, so two
// concurrent requests can never register one identifier twice.
import { randomBytes } from 'node:crypto';
import { notFound, PosternError } from '../errors.ts';
import { noteTokenTtl, longestTokenTtl } from '../keys/key-ring.ts';
import type { ApiResource, AppRecord } from '../storage/ports.ts';
import type { AppsService } from './apps-service.ts';

/** Access-token lifetimes (seconds): short, because an API accepts a JWT until it expires. */
export const ACCESS_TOKEN_TTL_RANGE = [60, 3600] as const;
export const DEFAULT_ACCESS_TOKEN_TTL = 300;
export const MAX_RESOURCES = 20;
export const MAX_SCOPES = 50;

/**
 * The OpenID Connect scopes (Core §5.4, §11): they ask for the person's claims or a
 * refresh token, never for access to an API, so no API may use them as its own scope;
 * a request for an API may ask for them beside the API's scopes.
 */
export const OIDC_SCOPE_NAMES: ReadonlySet<string> = new Set(['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);

/** A resource as the admin describes it (already parsed). */
export interface ResourceFields {
  readonly identifier: string;
  readonly name?: string | undefined;
  readonly scopes: readonly string[];
  readonly accessTokenTtl: number;
}

/** A change: fields left out stay; `name: null` removes the name. */
export type ResourceChanges = { readonly [K in keyof ResourceFields]?: K extends 'name' ? string | null : ResourceFields[K] };

/** The identifier as a URL sees it, so that two spellings of one URI are one identifier. */
const sameUri = (a: string, b: string) => (URL.parse(a)?.href ?? a) === (URL.parse(b)?.href ?? b);

function resourcesOf(app: AppRecord): readonly ApiResource[] {
  return app.resources ?? [];
}

/** The app's resource with this id, or 404. */
function found(app: AppRecord, resourceId: string): ApiResource {
  const resource = resourcesOf(app).find((r) => r.id === resourceId);
  if (!resource) throw notFound(`No resource with id ${resourceId.slice(0, 64)} in this app.`);
  return resource;
}

function assertUnique(app: AppRecord, identifier: string, except?: string): void {
  const other = resourcesOf(app).find((r) => r.id !== except && sameUri(r.identifier, identifier));
  if (other) throw new PosternError('bad_request', `identifier is already registered for this app (resource ${other.id}).`);
}

/** `app` with `resources`, and keys that stay published as long as the longest token they may sign lives. */
function withResources(app: AppRecord, resources: ApiResource[]): AppRecord {
  const next: AppRecord = { ...app, resources };
  return { ...next, keys: noteTokenTtl(app.keys, longestTokenTtl(next)) };
}

export class ApiResources {
  readonly #apps: AppsService;
  constructor(apps: AppsService) {
    this.#apps = apps;
  }

  async list(appId: string): Promise<readonly ApiResource[]> {
    return resourcesOf(await this.#apps.get(appId));
  }

  async get(appId: string, resourceId: string): Promise<ApiResource> {
    return found(await this.#apps.get(appId), resourceId);
  }

  async create(appId: string, fields: ResourceFields): Promise<ApiResource> {
    const id = `res_${randomBytes(12).toString('base64url')}`;
    let created: ApiResource | undefined;
    await this.#apps.modify(appId, (app, now) => {
      if (resourcesOf(app).length >= MAX_RESOURCES) throw new PosternError('bad_request', `An app has at most ${MAX_RESOURCES} resources.`);
      assertUnique(app, fields.identifier);
      created = { id, ...withoutUndefined(fields), createdAt: now, updatedAt: now };
      return withResources(app, [...resourcesOf(app), created]);
    });
    return created!;
  }

  async update(appId: string, resourceId: string, changes: ResourceChanges): Promise<ApiResource> {
    let updated: ApiResource | undefined;
    await this.#apps.modify(appId, (app, now) => {
      const current = found(app, resourceId);
      if (changes.identifier !== undefined) assertUnique(app, changes.identifier, resourceId);
      const { name, ...rest } = changes;
      const { name: _old, ...kept } = current;
      updated = withoutUndefined({ ...kept, ...rest, name: name === null ? undefined : (name ?? current.name), updatedAt: now });
      return withResources(app, resourcesOf(app).map((r) => (r.id === resourceId ? updated! : r)));
    });
    return updated!;
  }

  async delete(appId: string, resourceId: string): Promise<ApiResource> {
    let deleted: ApiResource | undefined;
    await this.#apps.modify(appId, (app) => {
      deleted = found(app, resourceId);
      return withResources(app, resourcesOf(app).filter((r) => r.id !== resourceId));
    });
    return deleted!;
  }
}

/** Nothing undefined is stored (MongoDB would keep it as null). */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
