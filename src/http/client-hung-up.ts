// A client that hangs up before its request has arrived whole (a body cut short, a
// connection dropped on a bad network, or on purpose) leaves nobody to answer. Reading the
// rest of its body fails with Node's "aborted", and Node's parser reports the unfinished
// message as a "Parse Error". Neither is a fault of Postern's: no 500, no error line, no
// stack trace on stderr (which would also set off the 5xx alert for nothing). The request
// log and metrics count it as 499, the status nginx gives a client that closed its request.
import type { IncomingMessage } from 'node:http';

export const CLIENT_CLOSED_REQUEST = 499;

/** Whether the client went away before its request had fully arrived. */
export function clientHungUp(req: IncomingMessage): boolean {
  return req.destroyed && !req.complete;
}

/** Codes of a connection the client broke: reset, closed under a write, or cut off mid-message. */
const CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/** Whether `err` is the connection's own failure (Node's parser's `HPE_*` codes included), not Postern's. */
export function connectionFailed(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('HPE_') || CONNECTION_CODES.has(code));
}
