// A store (or any object) with some of its methods replaced, for tests that make a real
// store fail, stall or record at one exact call. Every other property reads through to the
// store itself, its methods bound to it, so the wrapped store behaves as the store.

type Method = (...args: never[]) => unknown;
/** For each replaced method: given the original (bound to the store), the method to use instead. */
type Replacements<T> = { [K in keyof T]?: T[K] extends Method ? (original: T[K]) => T[K] : never };

export function withMethods<T extends object>(inner: T, replacements: Replacements<T>): T {
  // Made once per method: a Proxy's get runs on every call.
  const made = new Map<PropertyKey, unknown>();
  return new Proxy(inner, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      if (!made.has(prop)) {
        const bound = (value as Method).bind(target);
        const replace = (replacements as Record<PropertyKey, ((original: Method) => Method) | undefined>)[prop];
        made.set(prop, replace ? replace(bound) : bound);
      }
      return made.get(prop);
    },
  });
}
