// The engine's models for an app's further clients and its initial access tokens, kept in
// the app's record (apps/clients.ts) rather than among the engine's documents: the admin
// API lists them, and a registration spends its token's use in the write that stores the
// client. Each look-up reads the stored record, never the Provider's copy, so a client
// registered a moment ago on another instance is found and a deleted one is not (A21).
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Clock } from '../clock.ts';
import { findClient, initialAccessTokenHash, registeredMetadataOf, usableInitialAccessToken } from '../apps/clients.ts';
import type { ClientsService } from '../apps/clients-service.ts';
import type { InputRules } from '../admin/app-input.ts';
import type { AppRecord } from '../storage/ports.ts';
import { noteClientRead, unchangedSinceRead } from './client-update-version.ts';
import { asEngineError, initialAccessTokenPayload, registeringWith, retryShortly, unavailable } from './engine.ts';
import { isOpenRegistration } from './open-registration.ts';
import { withRegistrationTokenFirst } from './registration-token-order.ts';

/** The one registration policy (registration.ts): every initial access token names it, so every registration and update runs it. */
export const REGISTRATION_POLICY = 'postern';

export interface ClientModelDeps {
  readonly appId: string;
  readonly kek: Buffer;
  readonly clock: Clock;
  readonly clients: ClientsService;
  /** The rules for the URIs a registered client gives (admin/client-input.ts). */
  readonly rules: InputRules;
  /** The app's record as stored now. */
  readonly storedApp: () => Promise<AppRecord | undefined>;
  /** Whether this Provider holds a key for every algorithm a client with `metadata` signs with. */
  readonly canSignFor: (metadata: Readonly<Record<string, unknown>>) => boolean;
}

const nothing = async () => undefined;

/** Rejects what the engine never asks of these models; a bug if it does. */
const refused = async () => {
  throw new Error('not supported for this model');
};

/** Model `Client` (A21): the app's further clients. The default client is the Provider's static one. */
export function clientAdapter(deps: ClientModelDeps): Adapter {
  const { appId, kek, clients } = deps;
  const stored = () => deps.storedApp().catch(unavailable);
  return {
    async find(id: string) {
      const app = await stored();
      const client = app && findClient(app, id);
      // The write that stored the client gave the app its keys; a Provider built before
      // it (another instance not yet told of the change) has not got them, and must never
      // be asked to sign with an algorithm it has no key of.
      if (client && !deps.canSignFor(client.metadata)) retryShortly(new Error(`Provider of app ${appId} predates the keys of client ${id}`));
      if (client) noteClientRead(client);
      return client && (registeredMetadataOf(app, client, kek) as AdapterPayload);
    },
    // Registration (RFC 7591) and update (RFC 7592), with the engine's metadata.
    async upsert(id: string, metadata: AdapterPayload) {
      const app = await stored();
      const token = registeringWith();
      try {
        // A registration's access token is stored first (registration-token-order.ts).
        await withRegistrationTokenFirst(async () => {
          if (app && findClient(app, id)) {
            const unchanged = unchangedSinceRead();
            await clients.update(appId, id, (current) => {
              unchanged?.(current);
              return metadata;
            });
          } else if (isOpenRegistration(token)) {
            // No token to spend: the write checks the app's open registration policy instead.
            await clients.add(appId, { metadata, origin: 'open_registration', clientId: id, secret: metadata.client_secret as string | undefined });
          } else {
            // Without a token (never: the engine asks for one) the empty hash matches none.
            const tokenHash = token === undefined ? '' : initialAccessTokenHash(kek, token);
            const secret = metadata.client_secret as string | undefined;
            await clients.add(appId, { metadata, origin: 'registration', clientId: id, secret, initialAccessTokenHash: tokenHash });
          }
        });
      } catch (err) {
        asEngineError(err);
      }
    },
    async destroy(id: string) {
      await clients.delete(appId, id).catch(asEngineError);
    },
    findByUid: nothing,
    findByUserCode: nothing,
    consume: refused,
    revokeByGrantId: refused,
  };
}

/** Model `InitialAccessToken` (A22): minted by the admin API, found by its value; or an open registration's one-time value (A40). */
export function initialAccessTokenAdapter(deps: ClientModelDeps): Adapter {
  return {
    async find(token: string) {
      if (isOpenRegistration(token)) return initialAccessTokenPayload(token, [REGISTRATION_POLICY]) as AdapterPayload;
      const app = await deps.storedApp().catch(unavailable);
      const found = app && usableInitialAccessToken(app, initialAccessTokenHash(deps.kek, token), deps.clock.now());
      return found && (initialAccessTokenPayload(token, [REGISTRATION_POLICY]) as AdapterPayload);
    },
    upsert: refused,
    destroy: refused,
    findByUid: nothing,
    findByUserCode: nothing,
    consume: refused,
    revokeByGrantId: refused,
  };
}
