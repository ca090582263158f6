// The writes of Dynamic Client Registration (RFC 7591) and its management (RFC 7592), in
// an order that leaves nothing half-done when the store fails between two of them. The
// engine stores a new client, then its registration access token; at an update with
// rotation it stores the client, removes the presented token, then stores a new one (A70).
// A failure at the later write would leave, at a registration, a client nobody was told of
// whose initial access token's use is spent, and at an update, a client whose old token is
// gone and whose new one was never stored, which no one could manage again. So:
// - a registration stores its token first, from the client's write (client-models.ts), and
//   removes it again when the client's write fails; the engine's own later save of that
//   token, in the same request, stores nothing more;
// - an update removes the token its rotation replaces only once the new one is stored (a
//   token presented for another client, which the engine also removes, goes at once).
//   Should that removal fail, the new token (never handed out) goes too, and the update
//   answers 503: the old token still works, and the client's retry rotates it.
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { registrationRoute } from './engine.ts';

/** Per request: the registration access token a registration stored, and the one an update's rotation replaces. */
const storedBy = new WeakMap<object, string>();
const replacedBy = new WeakMap<object, string>();

/** The adapter of model `RegistrationAccessToken`, over the one that stores it. */
export function registrationTokenAdapter(inner: Adapter): Adapter {
  return {
    ...inner,
    async upsert(id: string, payload: AdapterPayload, expiresIn?: number) {
      const at = registrationRoute();
      if (at?.route === 'registration' && storedBy.get(at.request) === id) return;
      await inner.upsert(id, payload, expiresIn);
      if (at?.route === 'registration') storedBy.set(at.request, id);
      const old = at && replacedBy.get(at.request);
      if (!at || old === undefined) return;
      replacedBy.delete(at.request);
      try {
        await inner.destroy(old);
      } catch (err) {
        await inner.destroy(id).catch(() => undefined); // down with the store, most likely: a value never handed out
        throw err;
      }
    },
    async destroy(id: string) {
      const at = registrationRoute();
      // Only the rotation's removal waits; a token presented for another client goes at once.
      if (at?.route === 'client_update' && at.rotated === id) {
        replacedBy.set(at.request, id);
        return;
      }
      await inner.destroy(id);
    },
  };
}

/**
 * Runs `writeClient` (the `Client` adapter's write) with a registration's token stored
 * before it, and removed again if it fails. Outside a registration, the write alone.
 */
export async function withRegistrationTokenFirst(writeClient: () => Promise<void>): Promise<void> {
  const at = registrationRoute();
  const token = at?.route === 'registration' ? at.token : undefined;
  if (!token) return writeClient();
  await token.save();
  try {
    await writeClient();
  } catch (err) {
    // A token for a client that was never stored: worthless, but not kept.
    await token.destroy().catch(() => undefined);
    throw err;
  }
}
