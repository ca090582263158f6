// Where "now" comes from, so code that keeps time can be handed another clock in tests.
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** The process clock. Reads Date.now() on every call, so a Date.now() moved by a test is honoured. */
export const systemClock: Clock = { now: () => Date.now() };
