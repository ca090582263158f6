import type { AppRecord } from '../storage/ports.ts';
import { decryptSecret } from './encryption.ts';
import { keyContext } from './generate-keys.ts';

/** Private JWKs of an app, decrypted for the Provider's keystore only (kept in memory). */
export function openSigningKeys(app: AppRecord, kek: Buffer): Record<string, unknown>[] {
  // ES512 first: the engine signs with the first key that suits the algorithm asked for.
  const ordered = [...app.keys].sort((a, b) => (a.alg === b.alg ? b.createdAt - a.createdAt : a.alg === 'ES512' ? -1 : 1));
  return ordered.map((key) => JSON.parse(decryptSecret(kek, key.encryptedPrivateJwk, keyContext(app.id, key.kid))));
}
