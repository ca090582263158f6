// Sign-out everywhere reports what it removed. Every driver counts the same way: from the
// models of the documents that existed and were removed, sessions with their documents.
import type { OidcPayload, RemovedDocuments } from './ports.ts';

/** One removed document: its model, id and stored payload. */
export interface Removed {
  readonly model: string | undefined;
  readonly id: string;
  readonly payload: OidcPayload;
}

/** Grants by count, sessions with their documents; every other model (tokens, codes, …) counts as a token. */
export function countByModel(removed: Iterable<Removed>): RemovedDocuments {
  const counts: RemovedDocuments = { grants: 0, sessions: [], tokens: 0 };
  for (const { model, id, payload } of removed) {
    if (model === 'Grant') counts.grants += 1;
    else if (model === 'Session') counts.sessions.push({ id, payload });
    else counts.tokens += 1;
  }
  return counts;
}

/** Both parts of one removal, when an account's documents live in two stores. */
export function addRemoved(a: RemovedDocuments, b: RemovedDocuments): RemovedDocuments {
  return { grants: a.grants + b.grants, sessions: [...a.sessions, ...b.sessions], tokens: a.tokens + b.tokens };
}
