/**
 * The Lua scripts SharedCounters runs in Redis. Each runs atomically, so gateways that share one
 * Redis admit calls one at a time against one count. Times come from the Redis server's clock
 * (TIME), which every gateway shares.
 */

/** Milliseconds since the epoch by the Redis server's clock. */
const NOW_MS = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/**
 * A Lua function counting a call against a key's calls per minute: `key` is the key's hash of
 * one-second buckets. A call is admitted while this second and the 60 before it hold fewer calls
 * than the limit (as RateLimiter counts in one process). Returns 0, or the seconds to wait.
 */
const TAKE_RATE = `local function take_rate(key, limit)
  local second = math.floor(now / 1000)
  local fields = redis.call('HGETALL', key)
  local total = 0
  local live = {}
  for i = 1, #fields, 2 do
    local at = tonumber(fields[i])
    local count = tonumber(fields[i + 1])
    if at <= second - 61 then
      redis.call('HDEL', key, fields[i])
    else
      total = total + count
      live[#live + 1] = { at, count }
    end
  end
  if total < limit then
    redis.call('HINCRBY', key, second, 1)
    redis.call('PEXPIRE', key, 62000)
    return 0
  end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local excess = total + 1 - limit
  for _, bucket in ipairs(live) do
    excess = excess - bucket[2]
    if excess <= 0 then return math.max(1, math.ceil(((bucket[1] + 61) * 1000 - now) / 1000)) end
  end
  return 61
end`;

/**
 * Admits a call: its key's rate limit, then its quotas, in one decision. KEYS[1] is the key's rate
 * hash; then pairs per counter cell: its usage hash {calls, records} and its holds (a sorted set of
 * "<hold id>:<records>" by expiry time). ARGV: hold id, hold lifetime (ms), the records the tool
 * wants (0: it reads none), the calls per minute (0: none, or already counted by an earlier look),
 * the number of rules, then per rule its cell's index (1-based), metric and limit.
 * Returns {'seed', cell} when a cell's usage is not in Redis yet (nothing is counted then),
 * {'rate', seconds} over the rate limit, {'exhausted', rule, used}, {'wait'} when calls under way
 * hold what is left (the rate was counted), or {'grant', records, used of each rule...} (records
 * -1: no record quota).
 */
export const ADMIT_SCRIPT = `${NOW_MS}
${TAKE_RATE}
local cells = (#KEYS - 1) / 2
local used, held = {}, {}
for i = 1, cells do
  local values = redis.call('HMGET', KEYS[2 * i], 'calls', 'records')
  if not values[1] then return { 'seed', i } end
  used[i] = { calls = tonumber(values[1]), records = tonumber(values[2]) or 0 }
end
local rate = tonumber(ARGV[4])
if rate > 0 then
  local retry = take_rate(KEYS[1], rate)
  if retry > 0 then return { 'rate', retry } end
end
for i = 1, cells do
  local holds = KEYS[2 * i + 1]
  redis.call('ZREMRANGEBYSCORE', holds, '-inf', now)
  local members = redis.call('ZRANGE', holds, 0, -1)
  local records = 0
  for _, member in ipairs(members) do records = records + tonumber(string.match(member, ':(%d+)$')) end
  held[i] = { calls = #members, records = records }
end
local lifetime = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local rules = tonumber(ARGV[5])
local grant = -1
local wait = false
local counts = {}
for rule = 1, rules do
  local cell = tonumber(ARGV[3 + 3 * rule])
  local metric = ARGV[4 + 3 * rule]
  local limit = tonumber(ARGV[5 + 3 * rule])
  local count = used[cell][metric]
  counts[rule] = count
  if metric == 'calls' or wanted > 0 then
    if count >= limit then return { 'exhausted', rule, count } end
    local free = limit - count - held[cell][metric]
    if free <= 0 then
      wait = true
    elseif metric == 'records' and (grant < 0 or math.min(free, wanted) < grant) then
      grant = math.min(free, wanted)
    end
  end
end
if wait then return { 'wait' } end
local member = ARGV[1] .. ':' .. math.max(grant, 0)
for i = 1, cells do
  redis.call('ZADD', KEYS[2 * i + 1], now + lifetime, member)
  redis.call('PEXPIRE', KEYS[2 * i + 1], lifetime + 1000)
end
return { 'grant', grant, unpack(counts) }`;

/**
 * Sets the usage of cells Redis does not hold yet (what ClickHouse and this gateway's spool hold).
 * KEYS: usage hashes; ARGV: per key its calls, records and expiry (unix ms).
 */
export const SEED_SCRIPT = `for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    redis.call('HSET', KEYS[i], 'calls', ARGV[3 * i - 2], 'records', ARGV[3 * i - 1])
    redis.call('PEXPIREAT', KEYS[i], ARGV[3 * i])
  end
end
return 0`;

/** Lua: counts a recorded call on the usage hashes KEYS[first..last] that Redis holds (a cell it does not hold is seeded from ClickHouse and the spool, which have the call). */
const CHARGE = `local function charge(first, last, calls, records)
  for i = first, last do
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('HINCRBY', KEYS[i], 'calls', calls)
      redis.call('HINCRBY', KEYS[i], 'records', records)
    end
  end
end`;

/** Lua: removes the members of hold id `id` from the holds sorted sets KEYS[first..#KEYS], whatever records they hold. */
const RELEASE = `local function release(first, id)
  local prefix = id .. ':'
  for i = first, #KEYS do
    for _, member in ipairs(redis.call('ZRANGE', KEYS[i], 0, -1)) do
      if string.sub(member, 1, #prefix) == prefix then redis.call('ZREM', KEYS[i], member) end
    end
  end
end`;

/**
 * Settles a call whose record was spooled, in one step: counts it on its usage cells and gives its
 * holds back, so it is never counted twice or not at all in between. KEYS: ARGV[3] usage hashes,
 * then the holds of the cells it was admitted on; ARGV: calls, records, the number of usage
 * hashes, the hold's member ("<hold id>:<records>"; '' for none). Also takes back a record never
 * stored (negative amounts).
 */
export const SETTLE_SCRIPT = `${CHARGE}
local usage = tonumber(ARGV[3])
charge(1, usage, ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  for i = usage + 1, #KEYS do redis.call('ZREM', KEYS[i], ARGV[4]) end
end
return 0`;

/**
 * Raises held cells to what ClickHouse counts when it counts more: calls recorded by the original
 * service or lost from Redis. KEYS: usage hashes; ARGV: per key its calls and records.
 */
export const RAISE_SCRIPT = `for i = 1, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    local values = redis.call('HMGET', KEYS[i], 'calls', 'records')
    if (tonumber(values[1]) or 0) < tonumber(ARGV[2 * i - 1]) then redis.call('HSET', KEYS[i], 'calls', ARGV[2 * i - 1]) end
    if (tonumber(values[2]) or 0) < tonumber(ARGV[2 * i]) then redis.call('HSET', KEYS[i], 'records', ARGV[2 * i]) end
  end
end
return 0`;

/**
 * Gives back a call's holds: KEYS are the holds of its cells, ARGV[1] the hold id. By id, so a
 * gateway can release a hold whose grant it never learnt (its ADMIT timed out on its side).
 */
export const RELEASE_SCRIPT = `${RELEASE}
release(1, ARGV[1])
return 0`;
