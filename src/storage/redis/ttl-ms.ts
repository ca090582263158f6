/**
 * A time to live in seconds, possibly fractional, as the milliseconds Redis takes (PX,
 * PEXPIRE). Never 0: Redis refuses a zero expiry, and a record asked to live a little
 * lives a little.
 */
export function ttlMs(seconds: number): number {
  return Math.max(1, Math.ceil(seconds * 1000));
}
