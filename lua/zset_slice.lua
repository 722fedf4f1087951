-- Read or delete a Python-style slice of a sorted set, bounded by ranks or members.
-- KEYS[1] the sorted set
-- ARGV[1] 'range' or 'delete'; ARGV[2] start kind, ARGV[3] start; ARGV[4] stop kind,
-- ARGV[5] stop (kind '' = no bound, 'r' = a rank, negative from the end,
-- 'm' = a member: the start member is included, the stop member is not);
-- ARGV[6] '1' to return scores with the members
-- returns the members (flat member, score pairs with scores) or the number
-- deleted; an error 'NOMEMBER start|stop' when a bound member is missing
local key = KEYS[1]
local n = redis.call('ZCARD', key)
local function rank(kind, value, default)
  if kind == '' then
    return default
  end
  if kind == 'm' then
    return redis.call('ZRANK', key, value)
  end
  local r = tonumber(value)
  if r < 0 then
    r = math.max(r + n, 0)
  end
  return math.min(r, n)
end
local start = rank(ARGV[2], ARGV[3], 0)
if not start then
  return redis.error_reply('NOMEMBER start')
end
local stop = rank(ARGV[4], ARGV[5], n)
if not stop then
  return redis.error_reply('NOMEMBER stop')
end
if ARGV[1] == 'delete' then
  if start >= stop then
    return 0
  end
  return redis.call('ZREMRANGEBYRANK', key, tostring(start), tostring(stop - 1))
end
if start >= stop then
  return {}
end
if ARGV[6] == '1' then
  return redis.call('ZRANGE', key, tostring(start), tostring(stop - 1), 'WITHSCORES')
end
return redis.call('ZRANGE', key, tostring(start), tostring(stop - 1))
