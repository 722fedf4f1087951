-- Every write to an autocomplete index; each one drops the cached searches.
-- KEYS[1] data hash, KEYS[2] titles hash, KEYS[3] prefixes hash (member -> its
--   prefixes, space-separated), KEYS[4] boosts hash, KEYS[5] cached-searches
--   set (each member names a cached search's key after KEYS[5]), KEYS[6] the
--   prefix key base (a prefix's sorted set is KEYS[6] .. prefix; never a key
--   itself)
-- ARGV[1] operation: 'store', 'remove' or 'boost'
-- store:  ARGV[2] member, ARGV[3] data, ARGV[4] title, ARGV[5] prefixes
--         (space-separated), ARGV[6..] one score per prefix
-- remove: ARGV[2] member
-- boost:  ARGV[2] boost field, ARGV[3] multiplier, ARGV[4] '1' to multiply
--         the saved boost, '0' to replace it
-- returns 1 if the member was indexed before (store/remove), or the new boost
--   as a string (boost); removing a member that is not indexed changes nothing
local op = ARGV[1]
local member = ARGV[2]
local old = false
if op ~= 'boost' then
  old = redis.call('HGET', KEYS[3], member)
  if op == 'remove' and not old then
    return 0
  end
end
for _, name in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  redis.call('DEL', KEYS[5] .. name)
end
redis.call('DEL', KEYS[5])

if op == 'boost' then
  local multiplier = tonumber(ARGV[3])
  if ARGV[4] == '1' then
    multiplier = multiplier * (tonumber(redis.call('HGET', KEYS[4], ARGV[2])) or 1)
  end
  local saved = string.format('%.17g', multiplier)
  redis.call('HSET', KEYS[4], ARGV[2], saved)
  return saved
end

if old then
  for prefix in string.gmatch(old, '[^ ]+') do
    redis.call('ZREM', KEYS[6] .. prefix, member)
  end
end
if op == 'store' then
  local i = 6
  for prefix in string.gmatch(ARGV[5], '[^ ]+') do
    redis.call('ZADD', KEYS[6] .. prefix, ARGV[i], member)
    i = i + 1
  end
  redis.call('HSET', KEYS[1], member, ARGV[3])
  redis.call('HSET', KEYS[2], member, ARGV[4])
  redis.call('HSET', KEYS[3], member, ARGV[5])
else
  redis.call('HDEL', KEYS[1], member)
  redis.call('HDEL', KEYS[2], member)
  redis.call('HDEL', KEYS[3], member)
  redis.call('HDEL', KEYS[4], 'i' .. member)
end
if old then
  return 1
end
return 0
