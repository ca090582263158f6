// Sign-out everywhere reports what it removed. Every driver counts the same way: from the
// models of the documents that existed and were removed.
import type { RemovedDocuments } from './ports.ts';

/** Grants and sessions by name; every other model (tokens, codes, …) counts as a token. */
export function countByModel(models: Iterable<string | undefined>): RemovedDocuments {
  const counts = { grants: 0, sessions: 0, tokens: 0 };
  for (const model of models) {
    if (model === 'Grant') counts.grants += 1;
    else if (model === 'Session') counts.sessions += 1;
    else counts.tokens += 1;
  }
  return counts;
}

/** Both parts of one removal, when an account's documents live in two stores. */
export function addRemoved(a: RemovedDocuments, b: RemovedDocuments): RemovedDocuments {
  return { grants: a.grants + b.grants, sessions: a.sessions + b.sessions, tokens: a.tokens + b.tokens };
}
