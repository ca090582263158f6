// An outbox in Redis: a sorted set of message ids scored by when each is due (epoch ms)
// and a hash of the messages (one pair of keys per outbox, redis-keys.ts). Claiming is one Lua script, so of several instances asking
// at once each due message goes to exactly one; the claim moves its score to the lease
// end, which is how a message held by an instance that died becomes due again.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Outbox, OutboxClaim, OutboxLease } from '../ports.ts';
import { scriptCommand, type ScriptCall } from './redis-scripts.ts';

/** What the hash holds per id (JSON). */
interface Held {
  sealed: string;
  attempts: number;
  claim?: string;
}

// KEYS: due, mail. ARGV: now, leaseUntil, limit, claim. Returns {{id, sealed, attempts}[],
// the earliest score left (a lease end counts) or nothing}: the queue's next look-up too.
const CLAIM = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local json = redis.call('HGET', KEYS[2], id)
  if json then
    local held = cjson.decode(json)
    held.attempts = held.attempts + 1
    held.claim = ARGV[4]
    redis.call('HSET', KEYS[2], id, cjson.encode(held))
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    out[#out + 1] = {id, held.sealed, held.attempts}
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {out, first[2] or false}`;

// KEYS: due, mail. ARGV: id, claim, dueAt. 1 when rescheduled, 0 when no longer held by that claim.
const RESCHEDULE = `
local json = redis.call('HGET', KEYS[2], ARGV[1])
if not json then return 0 end
local held = cjson.decode(json)
if held.claim ~= ARGV[2] then return 0 end
held.claim = nil
redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(held))
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1`;

// KEYS: due, messages. ARGV: id, held (JSON), dueAt.
const ADD = `
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])`;

// KEYS: due, messages. ARGV: id.
const REMOVE = `
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])`;

/** The two keys of one outbox. */
export interface OutboxKeys {
  readonly due: string;
  readonly messages: string;
}

export class RedisOutbox implements Outbox {
  readonly durable = true;
  readonly #redis: Redis;
  readonly #keys: OutboxKeys;
  readonly #claim: ScriptCall;
  readonly #reschedule: ScriptCall;
  readonly #add: ScriptCall;
  readonly #remove: ScriptCall;

  constructor(redis: Redis, keys: OutboxKeys) {
    this.#redis = redis;
    this.#keys = keys;
    this.#claim = scriptCommand(redis, 'posternOutboxClaim', CLAIM);
    this.#reschedule = scriptCommand(redis, 'posternOutboxReschedule', RESCHEDULE);
    // Scripts rather than a MULTI of four commands each: one command and one reply.
    this.#add = scriptCommand(redis, 'posternOutboxAdd', ADD);
    this.#remove = scriptCommand(redis, 'posternOutboxRemove', REMOVE);
  }

  async add(id: string, sealed: string, dueAt: number, lease?: OutboxLease) {
    const held: Held = lease ? { sealed, attempts: 1, claim: lease.claim } : { sealed, attempts: 0 };
    await this.#add(2, this.#keys.due, this.#keys.messages, id, JSON.stringify(held), lease ? lease.until : dueAt);
  }

  /** One round trip, the next due time included (was a claim, then a ZRANGE). */
  async claim(now: number, leaseUntil: number, limit: number): Promise<OutboxClaim> {
    const claim = randomUUID();
    const [rows, next] = (await this.#claim(2, this.#keys.due, this.#keys.messages, now, leaseUntil, limit, claim)) as [[string, string, number][], string | null];
    return { entries: rows.map(([id, sealed, attempts]) => ({ id, sealed, attempts: Number(attempts), claim })), nextDue: next === null ? undefined : Number(next) };
  }

  async reschedule(id: string, claim: string, dueAt: number) {
    return (await this.#reschedule(2, this.#keys.due, this.#keys.messages, id, claim, dueAt)) === 1;
  }

  async remove(id: string) {
    await this.#remove(2, this.#keys.due, this.#keys.messages, id);
  }

  async size() {
    return this.#redis.zcard(this.#keys.due);
  }

  async nextDue() {
    const [, score] = await this.#redis.zrange(this.#keys.due, 0, 0, 'WITHSCORES');
    return score === undefined ? undefined : Number(score);
  }
}
