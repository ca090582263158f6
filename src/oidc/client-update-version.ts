// An RFC 7592 update writes over the version of the client it read, or not at all. The
// engine reads the registration access token and the client, judges the new metadata, then
// has the client stored and the token rotated (engine.ts, A70). Two updates with one token
// at once both read it before either rotates it: both writes landed, the later silently
// replacing the other, and each rotation handed out a new token, so one token became two.
// So the version of the client an update's first read found is a condition of its write
// (the admin API's If-Match does the same), and the update that loses gets 409 before its
// rotation, leaving the client and the token as the other update left them.
import type { Precondition, Versioned } from '../apps/updated-at.ts';
import { PosternError } from '../errors.ts';
import { registrationRoute } from './engine.ts';

/** Per update request: the `updatedAt` of the client as its first read found it. */
const readAt = new WeakMap<object, number>();

/** Notes, at an RFC 7592 update, the version of the client the engine reads; only the first read counts. */
export function noteClientRead(client: Versioned): void {
  const at = registrationRoute();
  if (at?.route !== 'client_update' || readAt.has(at.request)) return;
  readAt.set(at.request, client.updatedAt);
}

/** At an RFC 7592 update, the condition that the client is still the version its first read found. */
export function unchangedSinceRead(): Precondition | undefined {
  const at = registrationRoute();
  const read = at?.route === 'client_update' ? readAt.get(at.request) : undefined;
  if (read === undefined) return undefined;
  return (current) => {
    if (current.updatedAt === read) return;
    throw new PosternError('conflict', 'The client was changed by another request while this update ran, and nothing was written: read the client again and repeat the update.');
  };
}
