-- KEYS[1] lock key, KEYS[2] wake-up list, KEYS[3] fencing-token key
-- ARGV[1] owner token, ARGV[2] grace in ms the wake-up list and the
-- fencing-token key outlive the lock, ARGV[3] "1" to release whoever holds it
-- returns 1 if a lock was released, 0 if the token did not hold it
if ARGV[3] ~= '1' and redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local held = redis.call('DEL', KEYS[1])
redis.call('DEL', KEYS[2])
redis.call('RPUSH', KEYS[2], '1')
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[2])
return held
