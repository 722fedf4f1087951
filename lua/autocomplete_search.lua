-- An autocomplete search: the data of the best hits, best first.
-- KEYS[1] data hash, KEYS[2] boosts hash, KEYS[3] cached-searches set (its
--   members name cached searches' keys after KEYS[3]), KEYS[4] this search's
--   cache key (KEYS[3] .. a name), KEYS[5] the prefix key base (a prefix's
--   sorted set is KEYS[5] .. prefix; never a key itself)
-- ARGV[1] cache timeout in seconds (0: do not keep), ARGV[2] limit (0: all),
--   ARGV[3] number of words n, ARGV[4 .. 3+n] the words, then pairs of
--   (object id or type, multiplier) boosting this search only
-- A one-word search without boosts reads the prefix's sorted set; any other
-- is computed into KEYS[4] (the intersection, each hit scored by its worst
-- word, i.e. AGGREGATE MAX, then divided by its boosts) and
-- kept for ARGV[1] seconds. A member is "<id>\1<type>"; saved boosts are
-- "i<member>" (one object), "i<id>\1" (an id, whatever its type) and
-- "t<type>" (a type) in KEYS[2]. A hit's multiplier is its id's boost times
-- its type's; the search's boost for a name replaces the saved ones for it.
local n = tonumber(ARGV[3])
local timeout = tonumber(ARGV[1])
local source = KEYS[5] .. ARGV[4]
if n > 1 or #ARGV > 3 + n or redis.call('HLEN', KEYS[2]) > 0 then
  source = KEYS[4]
  if redis.call('EXISTS', source) == 0 then
    local keys = {}
    for i = 1, n do
      keys[i] = KEYS[5] .. ARGV[3 + i]
    end
    keys[n + 1] = 'AGGREGATE'
    keys[n + 2] = 'MAX'
    redis.call('ZINTERSTORE', source, n, unpack(keys))
    local saved = {}
    local flat = redis.call('HGETALL', KEYS[2])
    for i = 1, #flat, 2 do
      saved[flat[i]] = tonumber(flat[i + 1])
    end
    local given = {}
    for i = 4 + n, #ARGV, 2 do
      given[ARGV[i]] = tonumber(ARGV[i + 1])
    end
    local hits = redis.call('ZRANGE', source, 0, -1, 'WITHSCORES')
    for i = 1, #hits, 2 do
      local member = hits[i]
      local id, kind = string.match(member, '^(.*)\1([^\1]*)$')
      local m = given[id]
      if not m then
        m = saved['i' .. member] or 1
        if kind ~= '' then
          m = m * (saved['i' .. id .. '\1'] or 1)
        end
      end
      if kind ~= '' and given[kind] then
        if kind ~= id then
          m = m * given[kind]
        end
      else
        m = m * (saved['t' .. kind] or 1)
      end
      if m ~= 1 then
        local score = tonumber(hits[i + 1]) / m
        redis.call('ZADD', source, string.format('%.17g', score), member)
      end
    end
    if timeout > 0 then
      redis.call('EXPIRE', source, timeout)
      redis.call('SADD', KEYS[3], string.sub(KEYS[4], #KEYS[3] + 1))
      redis.call('EXPIRE', KEYS[3], timeout)
    end
  end
end
local members = redis.call('ZRANGE', source, 0, tonumber(ARGV[2]) - 1)
if source == KEYS[4] and timeout <= 0 then
  redis.call('DEL', source)
end
local found = {}
for first = 1, #members, 1000 do
  local batch = {}
  for i = first, math.min(first + 999, #members) do
    batch[#batch + 1] = members[i]
  end
  for _, value in ipairs(redis.call('HMGET', KEYS[1], unpack(batch))) do
    found[#found + 1] = value
  end
end
return found
