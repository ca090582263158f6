// Rate-limit hits on Redis, batched: every hit asked for in one turn of the event loop goes
// to Redis as one script call, whichever limiters they belong to (a link request checks
// four limits at once). Per counter, the script does what rate-limiter-flexible's does,
// on the same keys: a counter starts at the first hit of its window and expires with it,
// each hit counts, also one refused. So `exhausted` (the library's `get`) reads them as
// before.
import type { Redis } from 'ioredis';
import { scriptCommand, type ScriptCall } from './redis-scripts.ts';
import { turnBatch } from './turn-batch.ts';

// KEYS: counters. ARGV: per counter, its window (seconds) and its limit. 1 per counter
// still within its limit after this hit, 0 per counter over it.
const HIT = `
local within = {}
for i, key in ipairs(KEYS) do
  local window = ARGV[2 * i - 1]
  redis.call('SET', key, 0, 'EX', window, 'NX')
  local consumed = redis.call('INCRBY', key, 1)
  if redis.call('PTTL', key) == -1 then redis.call('EXPIRE', key, window) end
  within[i] = consumed <= tonumber(ARGV[2 * i]) and 1 or 0
end
return within`;

interface Hit {
  readonly key: string;
  readonly windowSeconds: number;
  readonly limit: number;
}

/** `hit(key, window, limit)`: true while the counter is within the limit, this hit counted. */
export function redisLimitHits(redis: Redis): (key: string, windowSeconds: number, limit: number) => Promise<boolean> {
  const script: ScriptCall = scriptCommand(redis, 'posternLimitHits', HIT);
  const hit = turnBatch(queueMicrotask, async (batch: readonly Hit[]) => {
    const within = (await script(batch.length, ...batch.map((h) => h.key), ...batch.flatMap((h) => [h.windowSeconds, h.limit]))) as number[];
    return within.map((answer) => answer === 1);
  });
  return (key, windowSeconds, limit) => hit({ key, windowSeconds, limit });
}
