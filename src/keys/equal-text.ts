// Comparing a secret (or its hash) with what a request presents, in constant time.
import { timingSafeEqual } from 'node:crypto';

/**
 * Whether `a` and `b` are the same text, compared in constant time for a given length.
 * Lengths are compared in bytes: two texts of one length in characters can differ in
 * bytes (é is two), which timingSafeEqual refuses with an exception.
 */
export function equalText(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a), Buffer.from(b)];
  return x.length === y.length && timingSafeEqual(x, y);
}
