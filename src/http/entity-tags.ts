// Conditional requests (RFC 9110 §13.1): a header naming "*" or a list of entity tags.
// If-None-Match compares weakly (a W/ prefix is ignored: a cached copy is as good);
// If-Match compares strongly (a weak tag never matches: a write must be based on exactly
// the representation it names).

function tagsOf(header: string): string[] {
  return header.split(',').map((tag) => tag.trim());
}

/** Whether an If-None-Match header names `etag` (a strong tag such as `"abc"`). */
export function ifNoneMatchNames(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return tagsOf(header).some((tag) => tag.replace(/^W\//, '') === etag);
}

/** Whether an If-Match header names `etag` (a strong tag such as `"abc"`) or the resource at all ("*"). */
export function ifMatchNames(header: string, etag: string): boolean {
  if (header.trim() === '*') return true;
  return tagsOf(header).some((tag) => tag === etag);
}
