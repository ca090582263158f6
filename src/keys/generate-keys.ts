// Signing keys for one app: EC P-521 for ES512 (the default for ID tokens), RSA 2048 for
// RS256, EC P-256 for ES256 and Ed25519 for EdDSA, each made only when the app's clients
// first sign with it (key-ring.ts). Made with jose, the same library that signs and verifies with them.
// Each key gets a random UUID kid; the private half is sealed before it leaves this file.
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import type { StoredKey } from '../storage/ports.ts';
import { encryptSecret } from './encryption.ts';

export function keyContext(appId: string, kid: string): string {
  return `postern:key:${appId}:${kid}`;
}

/**
 * One new sealed key. WebCrypto generates it off the event loop (an RSA key takes ~150 ms
 * of CPU), so rotating many apps does not stall requests. The caller gives it its rotation
 * status.
 */
export async function generateKey(appId: string, kek: Buffer, alg: StoredKey['alg'], now = Date.now()): Promise<StoredKey> {
  // ES512 is always P-521, ES256 P-256, RS256 defaults to a 2048-bit modulus, EdDSA is
  // Ed25519 here (RFC 8037); extractable, because the private JWK is exported once, to be sealed.
  const pair = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' && { crv: 'Ed25519' }) });
  const kid = randomUUID();
  const meta = { kid, alg, use: 'sig' };
  const publicJwk = { ...(await exportJWK(pair.publicKey)), ...meta };
  const privateJwk = { ...(await exportJWK(pair.privateKey)), ...meta };
  return {
    kid,
    alg,
    createdAt: now,
    publicJwk,
    encryptedPrivateJwk: encryptSecret(kek, JSON.stringify(privateJwk), keyContext(appId, kid)),
  };
}
