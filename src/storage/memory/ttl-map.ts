// A Map whose entries expire. Expiry is checked on every read (so a clock change in tests
// is honoured) and swept periodically so memory does not grow without bound.
export class TtlMap<V> {
  readonly #entries = new Map<string, { value: V; expiresAt: number | undefined }>();
  readonly #now: () => number;

  constructor(now: () => number = () => Date.now()) {
    this.#now = now;
  }

  set(key: string, value: V, ttlSeconds: number | undefined): void {
    const expiresAt = ttlSeconds === undefined ? undefined : this.#now() + ttlSeconds * 1000;
    this.#entries.set(key, { value, expiresAt });
  }

  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= this.#now()) {
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
