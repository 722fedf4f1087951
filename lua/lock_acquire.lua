-- KEYS[1] lock key, KEYS[2] wake-up list, KEYS[3] fencing-token key
-- ARGV[1] owner token, ARGV[2] ttl in ms ("0": the lock does not expire),
-- ARGV[3] grace in ms the fencing-token key outlives the lock
-- returns {1, fencing token} when acquired, {0, the lock's PTTL} when held
local ttl = tonumber(ARGV[2])
local ok
if ttl > 0 then
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
else
  ok = redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
if not ok then
  return {0, redis.call('PTTL', KEYS[1])}
end
local now = redis.call('TIME')
local fence = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local last = tonumber(redis.call('GET', KEYS[3]) or '0')
if last >= fence then
  fence = last + 1
end
if ttl > 0 then
  redis.call('SET', KEYS[3], string.format('%d', fence), 'PX',
    string.format('%d', ttl + tonumber(ARGV[3])))
else
  redis.call('SET', KEYS[3], string.format('%d', fence))
end
return {1, fence}
