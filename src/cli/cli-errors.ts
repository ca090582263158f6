// The two ways a command fails, each with its exit code, so scripts can tell "I typed it
// wrong" (2: nothing was sent, or nothing was changed) from "the server said no or could
// not be reached" (1).

/** A mistake in the command line or its environment: exit 2. */
export class UsageError extends Error {
  /** The command whose help applies, e.g. "apps create"; undefined: the overview. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }
}

/** The server refused, answered something that is not the admin API, or did not answer: exit 1. */
export class RequestFailed extends Error {}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;
