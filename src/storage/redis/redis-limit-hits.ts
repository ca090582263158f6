// Rate-limit hits on Redis, batched: every hit asked for in one turn of the event loop goes
// to Redis as one script call, whichever limiters they belong to (a link request checks
// four limits at once and its app-wide one after them, as one group). Per counter, the
// script does what rate-limiter-flexible's does, on the same keys: a counter starts at the
// first hit of its window and expires with it, each hit counts, also one refused (only a
// group's last hit after a refusal in its group counts nothing). So `exhausted` (the
// library's `get`) reads them as before.
import type { Redis } from 'ioredis';
import type { GroupedHit, LimitGroup } from '../ports.ts';
import { scriptCommand, type ScriptCall } from './redis-scripts.ts';
import { turnBatch } from './turn-batch.ts';

// KEYS: counters. ARGV: per counter, its window (seconds), its limit, its group ('0' for
// none) and '1' when it is its group's last hit, counted only if no hit of its group before
// it in this call went over its limit. 1 per counter still within its limit after this hit
// (or not counted), 0 per counter over it.
const HIT = `
local within, refused = {}, {}
for i, key in ipairs(KEYS) do
  local window, group = ARGV[4 * i - 3], ARGV[4 * i - 1]
  if ARGV[4 * i] == '1' and refused[group] then
    within[i] = 1
  else
    redis.call('SET', key, 0, 'EX', window, 'NX')
    local consumed = redis.call('INCRBY', key, 1)
    if redis.call('PTTL', key) == -1 then redis.call('EXPIRE', key, window) end
    within[i] = consumed <= tonumber(ARGV[4 * i - 2]) and 1 or 0
    if within[i] == 0 and group ~= '0' then refused[group] = true end
  end
end
return within`;

interface Hit {
  readonly key: string;
  readonly windowSeconds: number;
  readonly limit: number;
  /** Its group's number in its batch, 0 for none. */
  readonly group: number;
  readonly last: boolean;
}

/** `hit(key, window, limit, grouped)`: true while the counter is within the limit, this hit counted. */
export function redisLimitHits(redis: Redis): (key: string, windowSeconds: number, limit: number, grouped?: GroupedHit) => Promise<boolean> {
  const script: ScriptCall = scriptCommand(redis, 'posternLimitHits', HIT);
  // The groups with hits in the batch being gathered: their numbers, and how many hits.
  let inBatch = new Map<LimitGroup, { readonly number: number; hits: number }>();
  const schedule = (flush: () => void) =>
    queueMicrotask(() => {
      inBatch = new Map();
      flush();
    });
  const hit = turnBatch(schedule, async (batch: readonly Hit[]) => {
    const args = batch.flatMap((h) => [h.windowSeconds, h.limit, h.group, h.last ? 1 : 0]);
    const within = (await script(batch.length, ...batch.map((h) => h.key), ...args)) as number[];
    return within.map((answer) => answer === 1);
  });
  return (key, windowSeconds, limit, grouped) => {
    if (!grouped) return hit({ key, windowSeconds, limit, group: 0, last: false });
    const { group } = grouped;
    let place = inBatch.get(group);
    // A last hit whose group began in an earlier batch waits for the others' answers.
    if (grouped.last && (place?.hits ?? 0) !== group.answers.length) {
      return group.afterTheOthers(() => hit({ key, windowSeconds, limit, group: 0, last: false }));
    }
    if (!place) inBatch.set(group, (place = { number: inBatch.size + 1, hits: 0 }));
    place.hits++;
    return hit({ key, windowSeconds, limit, group: place.number, last: grouped.last === true });
  };
}
