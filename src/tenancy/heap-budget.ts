// The V8 heap limit a process needs for its caches. The start command caps the old
// generation (--max-old-space-size) because V8 sizes its next collection from that cap:
// below its default it grows the heap by 1.3-2x the live size between full collections
// rather than up to 4x, and pages freed by a collection stay resident (V8's page pool),
// so the cap, not the live heap, is what resident memory comes to under traffic that
// keeps building and dropping Providers. A cap too small for PROVIDER_CACHE_MB would make
// the process collect garbage without end and then die out of memory: it refuses to start.

/** Heap limit needed per MiB of PROVIDER_CACHE_MB: the caches, the rest of the process's live heap, and room to collect. */
export const HEAP_PER_CACHE_MB = 2.5;

/** Why the process cannot run its caches in `heapLimitBytes` (v8.getHeapStatistics().heap_size_limit), or undefined. */
export function heapTooSmall(providerCacheMb: number, heapLimitBytes: number): string | undefined {
  const neededMb = Math.ceil(providerCacheMb * HEAP_PER_CACHE_MB);
  const limitMb = Math.floor(heapLimitBytes / 2 ** 20);
  if (limitMb >= neededMb) return undefined;
  return (
    `PROVIDER_CACHE_MB=${providerCacheMb} needs a V8 heap limit of at least ${neededMb} MiB, and this process has ${limitMb} MiB. ` +
    `Lower PROVIDER_CACHE_MB to ${Math.floor(limitMb / HEAP_PER_CACHE_MB)} or less, or start node with --max-old-space-size=${neededMb} (or NODE_OPTIONS).`
  );
}
