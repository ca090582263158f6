// `updatedAt` is each record's version (the admin API's ETag; the compare-and-replace of
// app records): every write must move it forward, even two writes within one millisecond
// or after the clock stepped back.

/** The `updatedAt` of the write that follows `record`'s, at `now`. */
export function nextUpdatedAt(record: { readonly updatedAt: number }, now: number): number {
  return Math.max(now, record.updatedAt + 1);
}
