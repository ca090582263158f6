// A Map whose entries expire. Expiry is checked on every read against the clock it was
// given (so a test clock that moves is honoured) and swept periodically so memory does
// not grow without bound.
import type { Clock } from '../../clock.ts';

export class TtlMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number | undefined }>();
  readonly #clock: Clock;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** `ttlSeconds` may be fractional; undefined keeps the entry until deleted. */
  set(key: string, value: V, ttlSeconds: number | undefined): void {
    const expiresAt = ttlSeconds === undefined ? undefined : this.#clock.now() + ttlSeconds * 1000;
    this.#entries.set(key, { value, expiresAt });
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#clock.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Replaces the value and keeps the expiry. */
  update(key: string, value: V): boolean {
    const entry = this.#entries.get(key);
    if (!entry || this.get(key) === undefined) return false;
    entry.value = value;
    return true;
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const key of [...this.#entries.keys()]) {
      const value = this.get(key);
      if (value !== undefined) yield [key, value];
    }
  }

  sweep(): void {
    for (const key of [...this.#entries.keys()]) this.get(key);
  }
}
