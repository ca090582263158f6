// The hook between an app's keys and the native ES512 signer (src/keys/native-signer.ts):
// when this process runs it, each ES512 key goes to the engine as an ExternalSigningKey
// whose private half lives in the addon (engine.ts A36–A38), so ID tokens, JWT access
// tokens and signed userinfo and introspection responses are signed there, off the event
// loop. Every other key, and every key under the fallback, stays the private JWK the
// engine signs with itself.
import type { ExternalSigningKey } from 'oidc-provider';
import type { Es512Signer } from '../keys/native-signer.ts';
import { externalSigningKey } from './engine.ts';

export function withNativeEs512(
  keys: readonly Record<string, unknown>[],
  signer: Es512Signer | undefined,
): (Record<string, unknown> | ExternalSigningKey)[] {
  if (signer?.kind !== 'native') return [...keys];
  return keys.map((jwk) => (jwk.alg === 'ES512' ? externalSigningKey('ES512', signer.importKey(jwk)) : jwk));
}
