// Signing keys for one app: EC P-521 for ES512 (the default for ID tokens) and RSA for
// clients that ask for RS256, which OpenID Connect requires a provider to offer.
// Each key gets a random UUID kid; the private half is sealed before it leaves this file.
import { generateKeyPair, generateKeyPairSync, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import type { StoredKey } from '../storage/ports.ts';
import { encryptSecret } from './encryption.ts';

export function keyContext(appId: string, kid: string): string {
  return `postern:key:${appId}:${kid}`;
}

function sealPair(
  appId: string,
  kek: Buffer,
  alg: StoredKey['alg'],
  pair: ReturnType<typeof generateKeyPairSync>,
  now: number,
): StoredKey {
  const kid = randomUUID();
  const meta = { kid, alg, use: 'sig' };
  const publicJwk = { ...pair.publicKey.export({ format: 'jwk' }), ...meta };
  const privateJwk = { ...pair.privateKey.export({ format: 'jwk' }), ...meta };
  return {
    kid,
    alg,
    createdAt: now,
    publicJwk,
    encryptedPrivateJwk: encryptSecret(kek, JSON.stringify(privateJwk), keyContext(appId, kid)),
  };
}

export function generateAppKeys(appId: string, kek: Buffer, now = Date.now()): StoredKey[] {
  return [
    sealPair(appId, kek, 'ES512', generateKeyPairSync('ec', { namedCurve: 'P-521' }), now),
    sealPair(appId, kek, 'RS256', generateKeyPairSync('rsa', { modulusLength: 2048 }), now),
  ];
}

const generateKeyPairAsync = promisify(generateKeyPair);

/**
 * One new sealed key, generated off the event loop (an RSA key takes ~150 ms of CPU), so
 * rotating many apps does not stall requests. The caller gives it its rotation status.
 */
export async function generateKey(appId: string, kek: Buffer, alg: StoredKey['alg'], now = Date.now()): Promise<StoredKey> {
  const pair =
    alg === 'ES512'
      ? await generateKeyPairAsync('ec', { namedCurve: 'P-521' })
      : await generateKeyPairAsync('rsa', { modulusLength: 2048 });
  return sealPair(appId, kek, alg, pair as ReturnType<typeof generateKeyPairSync>, now);
}
