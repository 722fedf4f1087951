-- KEYS[1] event log: a list of admitted events' times in seconds (walrus 0.9's
--         format, e.g. "1733270000.123456"), newest first
-- ARGV[1] limit (events per window), ARGV[2] window in ms,
-- ARGV[3] "1" to record an event, "0" to only look
-- returns {1 if refused else 0, events left in the window,
--          ms until the next event is allowed (0: now)}
local limit = tonumber(ARGV[1])
local per = tonumber(ARGV[2]) / 1000
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local times = redis.call('LRANGE', KEYS[1], 0, limit - 1)
local used = 0
for i, value in ipairs(times) do
  if now - tonumber(value) >= per then
    break
  end
  used = i
end
local refused = 0
local recorded = 0
if used >= limit then
  refused = 1
elseif ARGV[3] == '1' then
  redis.call('LPUSH', KEYS[1], t[1] .. '.' .. string.format('%06d', tonumber(t[2])))
  redis.call('LTRIM', KEYS[1], 0, limit - 1)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  used = used + 1
  recorded = 1
end
local wait = 0
if used >= limit then
  -- the limit-th newest event leaves the window first
  local oldest = now
  if limit - recorded > 0 then
    oldest = tonumber(times[limit - recorded])
  end
  wait = math.floor((oldest + per - now) * 1000 + 0.5)
end
return {refused, limit - used, wait}
