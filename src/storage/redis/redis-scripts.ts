// Multi-step Redis writes as Lua scripts: one command (EVALSHA, the script sent once per
// connection) and one reply instead of a MULTI of ten or more queued commands and their
// replies, which is most of what a refresh or an audit event costs this process. Each
// script runs atomically, as the MULTI did.
import type { Redis } from 'ioredis';

// Takes the document `doc` (id `id`) out of every index its stored payload names: its
// grant's and account's index sets, and the uid and user-code look-ups that still name it
// (another document may have taken one over since). `prefixes` are the key prefixes of the
// app's grant and account index sets and of the model's uid and user-code look-ups.
// Answers whether the document existed.
const UNLINK_DOCUMENT = `
local function unlink(doc, id, prefixes)
  local stored = redis.call('HGET', doc, 'payload')
  if not stored then return false end
  local payload = cjson.decode(stored)
  local function named(value) return type(value) == 'string' and value ~= '' end
  if named(payload.grantId) then redis.call('ZREM', prefixes[1] .. payload.grantId, doc) end
  if named(payload.accountId) then redis.call('ZREM', prefixes[2] .. payload.accountId, doc) end
  if named(payload.uid) and redis.call('GET', prefixes[3] .. payload.uid) == id then redis.call('DEL', prefixes[3] .. payload.uid) end
  if named(payload.userCode) and redis.call('GET', prefixes[4] .. payload.userCode) == id then redis.call('DEL', prefixes[4] .. payload.userCode) end
  return true
end`;

// KEYS[1] the document hash; KEYS[2..1+ARGV[4]] look-up keys (uid, user code) that name
// the document's id (ARGV[5]); the remaining KEYS are the index sets it joins.
// ARGV: payload, consumed ('' when not), ttl ms ('' for none), look-up key count, id, and
// the four prefixes of UNLINK_DOCUMENT. What the document it replaces joined is left
// first, so a changed grant, account or uid keeps no entry pointing here.
// An index set is scored by each member's expiry, drops expired members on every write
// and lives as long as its longest-lived member (or for good, with a member that does).
// Expiries are Redis's own time, as the documents' TTLs are: an instance whose clock runs
// ahead would drop live members of other instances' documents.
const UPSERT_DOCUMENT = `${UNLINK_DOCUMENT}
local doc, ttl, lookups = KEYS[1], tonumber(ARGV[3]), tonumber(ARGV[4])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
unlink(doc, ARGV[5], { ARGV[6], ARGV[7], ARGV[8], ARGV[9] })
redis.call('DEL', doc)
if ARGV[2] ~= '' then redis.call('HSET', doc, 'payload', ARGV[1], 'consumed', ARGV[2])
else redis.call('HSET', doc, 'payload', ARGV[1]) end
if ttl then redis.call('PEXPIRE', doc, ttl) end
for i = 2, lookups + 1 do
  if ttl then redis.call('SET', KEYS[i], ARGV[5], 'PX', ttl) else redis.call('SET', KEYS[i], ARGV[5]) end
end
for i = lookups + 2, #KEYS do
  local set = KEYS[i]
  -- A set that exists without an expiry holds a member without one: it stays for good.
  local fresh = redis.call('EXISTS', set) == 0
  redis.call('ZADD', set, ttl and (now + ttl) or '+inf', doc)
  redis.call('ZREMRANGEBYSCORE', set, '-inf', now)
  if ttl then
    local left = redis.call('PTTL', set)
    if fresh or (left >= 0 and left < ttl) then redis.call('PEXPIRE', set, ttl) end
  else redis.call('PERSIST', set) end
end`;

// KEYS[1] a look-up key naming a document id; ARGV[1] the prefix of the document's key.
// The document as HGETALL returns it, or nothing.
const FIND_BY_LOOKUP = `
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return redis.call('HGETALL', ARGV[1] .. id)`;

// Consumes only an existing, unconsumed document: 1 for the one caller that wins.
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'consumed', ARGV[1])`;

// KEYS: the sorted sets of a batch of audit records, each record's in turn. ARGV: per
// record, how many of KEYS are its sets, its score, itself, the cutoff (exclusive) and
// the ttl ms of its retention. Records are added in order; then each set is trimmed and
// its expiry renewed once, as its last record asks.
const APPEND_AUDIT = `
local k, sets, last = 0, {}, {}
for i = 1, #ARGV, 5 do
  for _ = 1, tonumber(ARGV[i]) do
    k = k + 1
    local set = KEYS[k]
    redis.call('ZADD', set, ARGV[i + 1], ARGV[i + 2])
    if not last[set] then sets[#sets + 1] = set end
    last[set] = i
  end
end
for _, set in ipairs(sets) do
  redis.call('ZREMRANGEBYSCORE', set, '-inf', ARGV[last[set] + 3])
  redis.call('PEXPIRE', set, ARGV[last[set] + 4])
end`;

// KEYS[1] a document. ARGV: its id, then the four prefixes of UNLINK_DOCUMENT. Deletes
// the document and takes it out of every index it is in.
const DESTROY_DOCUMENT = `${UNLINK_DOCUMENT}
local existed = unlink(KEYS[1], ARGV[1], { ARGV[2], ARGV[3], ARGV[4], ARGV[5] })
redis.call('DEL', KEYS[1])
return existed and 1 or 0`;

// KEYS[1] an account's index set; ARGV[1] the key prefix of its app's grant index sets.
// Removes every document of the account and of its grants, with those index sets, and
// answers each removed document's key and payload, flat. The grants are its Grant
// documents (a Grant's id is the grant id its tokens carry, both hashed alike above the
// driver) and those its other documents name: these find a grant's documents that carry
// no account, such as a code, when the Grant itself is in another store (MongoDB, with
// Redis for the short-lived models). One script: nothing is written between the reads and
// the removal, so nothing written for the account escapes both this and the next sign-out.
const DESTROY_ACCOUNT = `
local docs, payloads, grants = {}, {}, {}
local function add(key)
  if payloads[key] == nil then
    payloads[key] = redis.call('HGET', key, 'payload') or false
    docs[#docs + 1] = key
  end
end
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  add(key)
  local model, id = string.match(key, ':m:([A-Za-z]+):([^:]*)$')
  if model == 'Grant' then grants[id] = true
  elseif payloads[key] then
    local grantId = cjson.decode(payloads[key]).grantId
    if type(grantId) == 'string' and grantId ~= '' then grants[grantId] = true end
  end
end
for grantId in pairs(grants) do
  local set = ARGV[1] .. grantId
  for _, key in ipairs(redis.call('ZRANGE', set, 0, -1)) do add(key) end
  redis.call('DEL', set)
end
redis.call('DEL', KEYS[1])
local removed = {}
for _, key in ipairs(docs) do
  if payloads[key] then
    redis.call('DEL', key)
    removed[#removed + 1] = key
    removed[#removed + 1] = payloads[key]
  end
end
return removed`;

const SCRIPTS = {
  posternUpsertDocument: UPSERT_DOCUMENT,
  posternFindByLookup: FIND_BY_LOOKUP,
  posternConsume: CONSUME,
  posternAppendAudit: APPEND_AUDIT,
  posternDestroyDocument: DESTROY_DOCUMENT,
  posternDestroyAccount: DESTROY_ACCOUNT,
} as const;

export type ScriptCall = (numberOfKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;
export type RedisScripts = Record<keyof typeof SCRIPTS, ScriptCall>;

/**
 * A script as a command of `redis`, defined once per client: EVALSHA, the script's text
 * sent once per connection rather than with every call (ioredis falls back to EVAL after a
 * NOSCRIPT).
 */
export function scriptCommand(redis: Redis, name: string, lua: string): ScriptCall {
  const client = redis as unknown as Record<string, ScriptCall>;
  if (typeof client[name] !== 'function') redis.defineCommand(name, { lua });
  return (...args) => client[name]!.call(redis, ...args);
}

/** The scripts above as commands of `redis`. */
export function scriptsOf(redis: Redis): RedisScripts {
  for (const [name, lua] of Object.entries(SCRIPTS)) scriptCommand(redis, name, lua);
  return redis as unknown as RedisScripts;
}
