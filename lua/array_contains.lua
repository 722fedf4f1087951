-- Whether an Array holds a value.
-- KEYS[1] the array's hash
-- ARGV[1] the value
-- returns 1 if some item equals the value, else 0
local values = redis.call('HVALS', KEYS[1])
for i = 1, #values do
  if values[i] == ARGV[1] then
    return 1
  end
end
return 0
