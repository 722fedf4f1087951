-- Save or delete one model row and every index entry pointing at it, atomically.
-- KEYS[1] the row's hash (the counter key when mode is "auto"), KEYS[2] the
--   model's "all" set, KEYS[3..] every other key written (declared for
--   clusters; the script reads them from ARGV)
-- ARGV[1] mode: "create" (fails if the row exists), "save", "auto" (create
--   with the next id of the counter KEYS[1]), "delete"
-- ARGV[2] the row key, which is also the member stored in the indexes (in
--   "auto" mode every argument equal to or containing the marker ARGV[3] gets
--   the new id in its place)
-- ARGV[3] the id marker, ARGV[4] the index key prefix, ARGV[5] separator
-- then seven counted lists, each "n, items...":
--   checks: pairs (field, "=" .. expected value, or "!" for absent); on a
--     mismatch nothing is written and "conflict" is returned
--   unindex: fields whose equality entry for the *stored* value is removed
--     (key: prefix .. field .. sep .. "absolute" .. sep .. value)
--   zrem: sorted sets the row is removed from (range and full-text indexes)
--   row: pairs (field, value), the new row (nothing: the row is deleted)
--   sadd: sets the row joins; zadd: pairs (sorted set, score); del: keys deleted
-- returns "exists", "conflict", the new id ("auto") or "ok"
local mode, row, mark = ARGV[1], ARGV[2], ARGV[3]
local prefix, sep = ARGV[4], ARGV[5]
local id = nil
local function sub(s)
  if id == nil then return s end
  local at = string.find(s, mark, 1, true)
  if at == nil then return s end
  return string.sub(s, 1, at - 1) .. id .. string.sub(s, at + #mark)
end
local at = 6
local function list(width)
  local n = tonumber(ARGV[at])
  local first = at + 1
  at = at + 1 + n * width
  return first, n
end
local checks, nchecks = list(2)
local unindex, nunindex = list(1)
local zrem, nzrem = list(1)
local fields, nfields = list(2)
local sadd, nsadd = list(1)
local zadd, nzadd = list(2)
local del, ndel = list(1)
local key = row
if mode == 'auto' then
  id = tostring(redis.call('INCR', KEYS[1]))
  row = sub(row)
  key = row
elseif mode == 'create' and redis.call('EXISTS', key) == 1 then
  return 'exists'
end
for i = checks, checks + 2 * nchecks - 1, 2 do
  local stored = redis.call('HGET', key, ARGV[i])
  local expected = ARGV[i + 1]
  if (stored and ('=' .. stored) or '!') ~= expected then
    return 'conflict'
  end
end
-- the range entries first: a score an engine refuses stops the write here,
-- before anything else changed (ZADD replaces a score: no ZREM needed there)
local added = {}
for i = zadd, zadd + 2 * nzadd - 1, 2 do
  redis.call('ZADD', sub(ARGV[i]), sub(ARGV[i + 1]), row)
  added[sub(ARGV[i])] = true
end
for i = unindex, unindex + nunindex - 1 do
  local stored = redis.call('HGET', key, ARGV[i])
  if stored then
    redis.call('SREM', prefix .. ARGV[i] .. sep .. 'absolute' .. sep .. stored, row)
  end
end
for i = zrem, zrem + nzrem - 1 do
  if not added[ARGV[i]] then
    redis.call('ZREM', ARGV[i], row)
  end
end
redis.call('DEL', key)
if nfields > 0 then
  local items = {}
  for i = fields, fields + 2 * nfields - 1 do
    items[#items + 1] = sub(ARGV[i])
  end
  redis.call('HMSET', key, unpack(items))
  redis.call('SADD', KEYS[2], row)
else
  redis.call('SREM', KEYS[2], row)
end
for i = sadd, sadd + nsadd - 1 do
  redis.call('SADD', sub(ARGV[i]), row)
end
for i = del, del + ndel - 1 do
  redis.call('DEL', ARGV[i])
end
if id ~= nil then
  return id
end
return 'ok'
