import type { AppRecord } from '../storage/ports.ts';
import { decryptSecret } from './encryption.ts';
import { keyContext } from './generate-keys.ts';
import { publishedKeys } from './key-ring.ts';

/**
 * Private JWKs of an app, decrypted for the Provider's keystore only (kept in memory):
 * current keys first, so the engine signs with them and with nothing else; next and
 * previous keys after them, so the JWKS publishes them (see key-ring.ts publishedKeys).
 */
export function openSigningKeys(app: AppRecord, kek: Buffer, now: number): Record<string, unknown>[] {
  return publishedKeys(app.keys, now).map((key) => JSON.parse(decryptSecret(kek, key.encryptedPrivateJwk, keyContext(app.id, key.kid))));
}
