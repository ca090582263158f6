// Where "now" comes from, so code that keeps time can be handed another clock in tests;
// and deadlines on work that must not wait for a stalled store (always in real time).
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The process clock. Reads Date.now() on every call, so a Date.now() moved by a test is honoured. */
export const systemClock: Clock = { now: () => Date.now() };

/** `work`, or the error `late()` makes once `ms` have passed without it settling. */
export async function within<T>(ms: number, work: Promise<T>, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  try {
    // race() listens to both, so `work` failing after the deadline is not unhandled.
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
