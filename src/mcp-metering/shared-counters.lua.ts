/**
 * The Lua scripts SharedCounters runs in Redis. Each runs atomically, so gateways that share one
 * Redis admit calls one at a time against one count. Times come from the Redis server's clock
 * (TIME), which every gateway shares.
 *
 * Every call runs two of them (ADMIT, SETTLE), so their hot paths keep to a few commands each:
 * running totals are kept beside what they sum (the rate window's calls, each cell's holds), and
 * the parts summed are only visited when some of them lapse. Inside Redis a command's cost is
 * mostly its call from Lua and its reply converted to Lua, so the scripts pass strings they were
 * given rather than numbers Redis would format, and read several fields with one HMGET.
 */

/** Milliseconds since the epoch by the Redis server's clock, and the second as Redis wrote it. */
const NOW_MS = `local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/** Lua: runs `command` on `key` with `args`, in parts, as Lua's stack holds only so many arguments. */
const IN_PARTS = `local function in_parts(command, key, args)
  for first = 1, #args, 1000 do redis.call(command, key, unpack(args, first, math.min(first + 999, #args))) end
end`;

/**
 * A Lua function counting a call against a key's calls per minute. `key` is the key's hash of
 * one-second buckets ("<unix second>": calls). A call is admitted while this second and the 60
 * before it hold fewer calls than the limit (as RateLimiter counts in one process). Returns 0, or
 * the seconds to wait.
 *
 * The hash also keeps the sum of its buckets (field "0") and the second it last dropped the buckets
 * that left the window (field "1"), so an admission reads one field and adds to two instead of
 * summing the minute's buckets; buckets are dropped once per new second. The two fields look like
 * buckets long past to a gateway of the previous version (which summed every bucket on each call):
 * it deletes them, and the next call here counts the buckets again, so the window stays exact while
 * both versions run.
 */
const TAKE_RATE = `local function recount(key, second)
  local fields = redis.call('HGETALL', key)
  local total, gone = 0, {}
  for i = 1, #fields, 2 do
    if tonumber(fields[i]) <= second - 61 then gone[#gone + 1] = fields[i] else total = total + tonumber(fields[i + 1]) end
  end
  in_parts('HDEL', key, gone)
  return total
end
local function drop_between(key, first, last)
  local gone = {}
  for at = first, last do gone[#gone + 1] = at end
  local dropped = 0
  for _, count in ipairs(redis.call('HMGET', key, unpack(gone))) do dropped = dropped + (tonumber(count) or 0) end
  redis.call('HDEL', key, unpack(gone))
  return dropped
end
local function leave_window(key, last_dropped)
  local second = tonumber(time[1])
  local dropped = tonumber(last_dropped)
  local total = tonumber(redis.call('HGET', key, '0'))
  if not dropped or not total or dropped < second - 61 then
    total = recount(key, second)
  elseif dropped < second then
    total = total - drop_between(key, dropped - 60, second - 61)
  end
  redis.call('HSET', key, '0', total, '1', time[1])
end
local function retry_after(key, total, limit)
  local fields = redis.call('HGETALL', key)
  local live = {}
  for i = 1, #fields, 2 do
    if fields[i] ~= '0' and fields[i] ~= '1' then live[#live + 1] = { tonumber(fields[i]), tonumber(fields[i + 1]) } end
  end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local excess = total + 1 - limit
  for _, bucket in ipairs(live) do
    excess = excess - bucket[2]
    if excess <= 0 then return math.max(1, math.ceil(((bucket[1] + 61) * 1000 - now) / 1000)) end
  end
  return 61
end
local function take_rate(key, limit)
  local dropped = redis.call('HGET', key, '1')
  if dropped ~= time[1] then leave_window(key, dropped) end
  local total = redis.call('HINCRBY', key, '0', '1')
  if total > limit then
    redis.call('HINCRBY', key, '0', '-1')
    return retry_after(key, total - 1, limit)
  end
  redis.call('HINCRBY', key, time[1], '1')
  redis.call('PEXPIRE', key, '62000')
  return 0
end`;

/**
 * Lua: the holds of calls under way on a quota cell live in its usage hash, beside its counts:
 * one field per hold ("<hold id>": "<lapse time ms>:<records held>"), their number "hc", the
 * records they hold "hr", and "he", a time no later than the first of them lapses (0: none). A
 * hold lapses (its gateway died holding it) at its lapse time; the holds are read one by one only
 * once "he" has passed, and their totals counted again from them then. Returns the cell's held
 * calls and records.
 */
const HOLDS = `local function lapse(key)
  local COUNTS = { calls = true, records = true, hc = true, hr = true, he = true }
  local fields = redis.call('HGETALL', key)
  local calls, records, first, gone = 0, 0, 0, {}
  for i = 1, #fields, 2 do
    if not COUNTS[fields[i]] then
      local lapses, held = string.match(fields[i + 1], '^(%d+):(%d+)$')
      lapses = tonumber(lapses)
      if lapses <= now then
        gone[#gone + 1] = fields[i]
      else
        calls, records = calls + 1, records + tonumber(held)
        if first == 0 or lapses < first then first = lapses end
      end
    end
  end
  in_parts('HDEL', key, gone)
  redis.call('HSET', key, 'hc', calls, 'hr', records, 'he', first)
  return calls, records
end`;

/**
 * Admits a call: its key's rate limit, then its quotas, in one decision. KEYS[1] is the key's rate
 * hash, then each counter cell's usage hash {calls, records, and the holds (HOLDS)}. ARGV: hold id,
 * hold lifetime (ms), the records the tool wants (0: it reads none), the calls per minute (0: none,
 * or already counted by an earlier look), the number of rules, then per rule its cell's index
 * (1-based), metric and limit.
 * Returns {'seed', cell} when a cell's usage is not in Redis yet (nothing is counted then),
 * {'rate', seconds} over the rate limit, {'exhausted', rule, used}, {'wait'} when calls under way
 * hold what is left (the rate was counted), or {'grant', records, used of each rule...} (records
 * -1: no record quota).
 */
export const ADMIT_SCRIPT = `${NOW_MS}
${IN_PARTS}
${TAKE_RATE}
${HOLDS}
local cells = #KEYS - 1
local values, held_calls, held_records = {}, {}, {}
for i = 1, cells do
  local cell = redis.call('HMGET', KEYS[i + 1], 'calls', 'records', 'hc', 'hr', 'he')
  if not cell[1] then return { 'seed', i } end
  values[i] = cell
  if not cell[3] or cell[3] == '0' then
    held_calls[i], held_records[i] = 0, 0
  elseif (tonumber(cell[5]) or 0) <= now then
    held_calls[i], held_records[i] = lapse(KEYS[i + 1])
  else
    held_calls[i], held_records[i] = tonumber(cell[3]), tonumber(cell[4])
  end
end
local rate = tonumber(ARGV[4])
if rate > 0 then
  local retry = take_rate(KEYS[1], rate)
  if retry > 0 then return { 'rate', retry } end
end
local wanted = tonumber(ARGV[3])
local grant = -1
local wait = false
local counts = {}
for rule = 1, tonumber(ARGV[5]) do
  local cell = tonumber(ARGV[3 + 3 * rule])
  local metric = ARGV[4 + 3 * rule]
  local limit = tonumber(ARGV[5 + 3 * rule])
  local calls = metric == 'calls'
  local count = tonumber(values[cell][calls and 1 or 2]) or 0
  counts[rule] = count
  if calls or wanted > 0 then
    if count >= limit then return { 'exhausted', rule, count } end
    local free = limit - count - (calls and held_calls[cell] or held_records[cell])
    if free <= 0 then
      wait = true
    elseif not calls and (grant < 0 or math.min(free, wanted) < grant) then
      grant = math.min(free, wanted)
    end
  end
end
if wait then return { 'wait' } end
local records = math.max(grant, 0)
-- As integers: tostring would write a large number in exponent form, which the holds' readers do not parse.
local lapses = string.format('%d', now + tonumber(ARGV[2]))
local held = string.format('%d', records)
local hold = lapses .. ':' .. held
for i = 1, cells do
  if held_calls[i] == 0 then
    redis.call('HSET', KEYS[i + 1], ARGV[1], hold, 'hc', '1', 'hr', held, 'he', lapses)
  else
    redis.call('HSET', KEYS[i + 1], ARGV[1], hold, 'hc', held_calls[i] + 1, 'hr', held_records[i] + records)
  end
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

/**
 * Lua: removes hold `id` from the usage hash `key` and its totals, `unheld` being minus the records
 * it holds. Returns whether the hold was there (it was not if it lapsed, or the cell is gone).
 */
const GIVE_BACK = `local function give_back(key, id, unheld)
  if redis.call('HDEL', key, id) == 0 then return false end
  redis.call('HINCRBY', key, 'hc', '-1')
  if unheld ~= '0' then redis.call('HINCRBY', key, 'hr', unheld) end
  return true
end`;

/**
 * Settles a call whose record was spooled, in one step: counts it on its usage cells and gives its
 * hold back, so it is never counted twice or not at all in between. Also takes back a record never
 * stored (negative amounts, no hold). KEYS: usage hashes: first those counted that carry the hold,
 * then those only counted, then those only carrying it. ARGV: calls, records, the number of keys
 * of the first part, of the first two parts, the hold id ('' for none) and minus the records it
 * holds. A cell Redis does not hold is not counted (it is seeded from ClickHouse and the spool,
 * which have the call).
 */
export const SETTLE_SCRIPT = `${GIVE_BACK}
local calls, records, carrying, counted, id, unheld = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5], ARGV[6]
for i = 1, #KEYS do
  local key = KEYS[i]
  local there = (i <= carrying or i > counted) and id ~= '' and give_back(key, id, unheld)
  if i <= counted and (there or redis.call('EXISTS', key) == 1) then
    redis.call('HINCRBY', key, 'calls', calls)
    if records ~= '0' then redis.call('HINCRBY', key, 'records', records) end
  end
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
 * Gives back a call's hold: KEYS are the usage hashes of its cells, ARGV[1] the hold id. By id, so
 * a gateway can release a hold whose grant it never learnt (its ADMIT timed out on its side): the
 * records it holds are read from the hold itself.
 */
export const RELEASE_SCRIPT = `${GIVE_BACK}
for i = 1, #KEYS do
  local hold = redis.call('HGET', KEYS[i], ARGV[1])
  if hold then
    local held = string.match(hold, ':(%d+)$')
    -- Not '-0': HINCRBY refuses it, and a script's commands before an error are not undone.
    give_back(KEYS[i], ARGV[1], held == '0' and '0' or '-' .. held)
  end
end
return 0`;
