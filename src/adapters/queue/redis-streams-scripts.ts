// The Lua side of the Redis Streams queue. Every step that reads a lease and then
// changes it runs as one script, so two workers can never both take one entry, and a
// crash cannot leave an entry acked but not dead-lettered (or the other way round).
// Times come from the server's clock (TIME), never from the workers' clocks.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function lua(source: string): LuaScript {
  const full = PRELUDE + source;
  return { source: full, sha: createHash('sha1').update(full).digest('hex') };
}

/** EVALSHA, falling back to EVAL when the server does not know the script (first use, or after a restart). */
export async function runScript(redis: Redis, script: LuaScript, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
  try {
    return await redis.call('EVALSHA', script.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
    return await redis.call('EVAL', script.source, keys.length, ...keys, ...args);
  }
}

const PRELUDE = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- The entry's body field; an entry written by another tool without one is delivered as JSON of its fields.
local function bodyOf(fields)
  local obj = {}
  for i = 1, #fields, 2 do
    if fields[i] == 'body' then return fields[i + 1] end
    obj[fields[i]] = fields[i + 1]
  end
  return cjson.encode(obj)
end
-- This consumer's delivery number \`count\` of id: 1 while its lease runs, -1 once the lease ran
-- out (nobody took it yet), 0 when it is not the current delivery (acked, released, taken over).
local function lease(stream, leases, group, consumer, id, count, idleMs)
  local p = redis.call('XPENDING', stream, group, id, id, 1)[1]
  if p == nil or p[2] ~= consumer or tonumber(p[4]) ~= count then return 0 end
  local deadline = redis.call('ZSCORE', leases, id)
  if deadline then
    if tonumber(deadline) > nowMs() then return 1 end
  elseif tonumber(p[3]) < idleMs then
    return 1
  end
  return -1
end
`;

/**
 * Takes over entries whose lease ran out, after moving due delayed sends into the stream.
 * KEYS: stream, leases, delayed, dlq. ARGV: group, consumer, max, leaseMs, fallbackIdleMs, maxReceive (0 = no DLQ).
 * Returns { {id, body, count}…, }, wakeInMs (-1 = nothing scheduled), { {id, count}… dead-lettered }.
 *
 * Two ways a lease runs out: its deadline in the leases set passed (every delivery made by
 * this adapter has one), or — for an entry with no deadline at all (the worker died between
 * XREADGROUP and recording the lease) — it has been idle for the visibility timeout, the
 * plain XAUTOCLAIM rule. XAUTOCLAIM itself cannot be used: it would also steal entries whose
 * lease was extended past the visibility timeout.
 */
export const CLAIM = lua(`
local stream, leases, delayed, dlq = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local group, consumer = ARGV[1], ARGV[2]
local max, leaseMs, idleMs, maxReceive = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local now = nowMs()

local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, 100)
for _, member in ipairs(due) do
  local sep = string.find(member, '|', 1, true) or 0
  redis.call('XADD', stream, '*', 'body', string.sub(member, sep + 1))
  redis.call('ZREM', delayed, member)
end

local out, dead = {}, {}
local function take(id, minIdle)
  -- XCLAIM counts a delivery; on an entry deleted meanwhile it returns nothing and drops it from the PEL.
  local entry = redis.call('XCLAIM', stream, group, consumer, minIdle, id)[1]
  if entry == nil or not entry[2] then
    redis.call('ZREM', leases, id)
    return
  end
  local count = tonumber(redis.call('XPENDING', stream, group, id, id, 1)[1][4])
  local body = bodyOf(entry[2])
  if maxReceive > 0 and count > maxReceive then
    redis.call('XADD', dlq, '*', 'body', body, 'reason', 'exceeded maxReceiveCount ' .. maxReceive, 'id', id)
    redis.call('XACK', stream, group, id)
    redis.call('XDEL', stream, id)
    redis.call('ZREM', leases, id)
    dead[#dead + 1] = { id, count }
    return
  end
  redis.call('ZADD', leases, now + leaseMs, id)
  out[#out + 1] = { id, body, count }
end

for _, id in ipairs(redis.call('ZRANGEBYSCORE', leases, '-inf', now, 'LIMIT', 0, max)) do
  take(id, 0)
end

local start, scanned = '-', 0
while #out < max and scanned < 1000 do
  local page = redis.call('XPENDING', stream, group, 'IDLE', idleMs, start, '+', 100)
  for _, p in ipairs(page) do
    if #out >= max then break end
    if redis.call('ZSCORE', leases, p[1]) == false then take(p[1], idleMs) end
  end
  scanned = scanned + #page
  if #page < 100 then break end
  start = '(' .. page[#page][1]
end

local wake = -1
for _, key in ipairs({ leases, delayed }) do
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if first[2] then
    local w = math.max(0, tonumber(first[2]) - now)
    if wake < 0 or w < wake then wake = w end
  end
end
return { out, wake, dead }
`);

/** Records lease deadlines for entries just read with XREADGROUP. KEYS: leases. ARGV: leaseMs, id… */
export const LEASE = lua(`
local deadline = nowMs() + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], deadline, ARGV[i]) end
return #ARGV - 1
`);

/**
 * Extends this consumer's running lease. XCLAIM JUSTID resets the idle time without counting
 * a delivery; the deadline may lie past the visibility timeout. Returns lease()'s code.
 * KEYS: stream, leases. ARGV: group, consumer, id, count, ms, idleMs.
 */
export const EXTEND = lua(`
local stream, leases, group, consumer, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local state = lease(stream, leases, group, consumer, id, tonumber(ARGV[4]), tonumber(ARGV[6]))
if state ~= 1 then return state end
redis.call('XCLAIM', stream, group, consumer, 0, id, 'JUSTID')
redis.call('ZADD', leases, nowMs() + tonumber(ARGV[5]), id)
return 1
`);

/**
 * Gives a leased entry back: it moves to the released consumer (so the old holder can no
 * longer extend it) with a deadline of now + delay; CLAIM then redelivers it, counting a
 * delivery. retryCount >= 0 also rewrites the delivery count, to undo a delivery nobody saw.
 * Returns lease()'s code. KEYS: stream, leases. ARGV: group, consumer, id, count, delayMs, idleMs, releasedConsumer, retryCount.
 */
export const RELEASE = lua(`
local stream, leases, group, consumer, id = KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3]
local state = lease(stream, leases, group, consumer, id, tonumber(ARGV[4]), tonumber(ARGV[6]))
if state ~= 1 then return state end
if tonumber(ARGV[8]) >= 0 then
  redis.call('XCLAIM', stream, group, ARGV[7], 0, id, 'RETRYCOUNT', ARGV[8], 'JUSTID')
else
  redis.call('XCLAIM', stream, group, ARGV[7], 0, id, 'JUSTID')
end
redis.call('ZADD', leases, nowMs() + tonumber(ARGV[5]), id)
return 1
`);

/**
 * Done with an entry, for good — unless it was delivered again since (then the newer
 * delivery decides; returns 0). A lease that ran out but was not taken over still counts.
 * KEYS: stream, leases. ARGV: group, consumer, id, count.
 */
export const ACK = lua(`
local stream, leases, group, id = KEYS[1], KEYS[2], ARGV[1], ARGV[3]
if lease(stream, leases, group, ARGV[2], id, tonumber(ARGV[4]), 0) == 0 then return 0 end
redis.call('XACK', stream, group, id)
redis.call('XDEL', stream, id)
redis.call('ZREM', leases, id)
return 1
`);

/**
 * Copy to the DLQ and ack, as one step; as ACK, only for the current delivery.
 * KEYS: stream, leases, dlq. ARGV: group, consumer, id, count, body, reason.
 */
export const DEAD_LETTER = lua(`
local stream, leases, group, id = KEYS[1], KEYS[2], ARGV[1], ARGV[3]
if lease(stream, leases, group, ARGV[2], id, tonumber(ARGV[4]), 0) == 0 then return 0 end
redis.call('XADD', KEYS[3], '*', 'body', ARGV[5], 'reason', ARGV[6], 'id', id)
redis.call('XACK', stream, group, id)
redis.call('XDEL', stream, id)
redis.call('ZREM', leases, id)
return 1
`);

/** A send that becomes visible later. KEYS: delayed. ARGV: delayMs, member. */
export const SEND_DELAYED = lua(`
redis.call('ZADD', KEYS[1], nowMs() + tonumber(ARGV[1]), ARGV[2])
return 1
`);

/** Moves up to ARGV[1] dead letters back to the stream as new entries. KEYS: dlq, stream. */
export const REDRIVE = lua(`
local batch = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', tonumber(ARGV[1]))
for _, e in ipairs(batch) do
  redis.call('XADD', KEYS[2], '*', 'body', bodyOf(e[2]))
  redis.call('XDEL', KEYS[1], e[1])
end
return #batch
`);

/**
 * How many entries wait, are leased and are dead. Leased: a lease deadline still ahead (a
 * release with a delay too); the other live stream entries and the delayed sends wait.
 * KEYS: stream, leases, delayed, dlq. Returns { visible, inflight, dlq }.
 */
export const DEPTH = lua(`
local inflight = redis.call('ZCOUNT', KEYS[2], '(' .. nowMs(), '+inf')
local live = redis.call('XLEN', KEYS[1])
local visible = math.max(0, live - inflight) + redis.call('ZCARD', KEYS[3])
return { visible, inflight, redis.call('XLEN', KEYS[4]) }
`);

/** KEYS: dlq. Returns how many were dropped. */
export const PURGE = lua(`
local n = redis.call('XLEN', KEYS[1])
redis.call('DEL', KEYS[1])
return n
`);

/**
 * Drops this consumer from the group when it holds nothing, so worker restarts do not pile up
 * consumers (deleting one that still holds entries would lose them). KEYS: stream. ARGV: group, consumer.
 */
export const FORGET_CONSUMER = lua(`
if #redis.call('XPENDING', KEYS[1], ARGV[1], '-', '+', 1, ARGV[2]) > 0 then return 0 end
redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], ARGV[2])
return 1
`);
