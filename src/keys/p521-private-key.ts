// A P-521 private key as PKCS#8 DER (RFC 5208 around RFC 5915's ECPrivateKey), built in
// memory from the private scalar alone: the form the native signer imports. The public
// point is left out on purpose: OpenSSL derives it from d, and the signer compares what it
// derived with the key's published x and y, so a stored key whose halves do not belong
// together is refused instead of publishing a key that verifies nothing.

/** Bytes of a P-521 scalar or coordinate: ceil(521 / 8). */
export const P521_BYTES = 66;

// SEQUENCE { INTEGER 0, SEQUENCE { OID ecPublicKey, OID secp521r1 },
//   OCTET STRING { SEQUENCE { INTEGER 1, OCTET STRING (66 bytes) d } } }
const PREFIX = Buffer.from('3060020100301006072a8648ce3d020106052b81040023044930470201010442', 'hex');

/**
 * The DER of the key with scalar `d` (exactly 66 bytes, leading zeros kept, as RFC 7518
 * §6.2.2.1 requires of a JWK). The caller owns the result and zeroes it after use.
 */
export function p521Pkcs8(d: Uint8Array): Buffer {
  if (d.length !== P521_BYTES) throw new TypeError(`a P-521 private key has ${P521_BYTES} bytes, not ${d.length}`);
  const der = Buffer.alloc(PREFIX.length + P521_BYTES);
  PREFIX.copy(der);
  der.set(d, PREFIX.length);
  return der;
}
