-- Save or delete one model row and every index entry pointing at it, atomically.
-- KEYS[1] the row's hash (the counter key when mode is "auto"), KEYS[2] the
--   model's "all" set, KEYS[3] the model's key prefix (never a key itself):
--   every other key is KEYS[3] .. a name given in ARGV, so all stay in the
--   model's key group (one hash tag on a cluster)
-- ARGV[1] mode: "create" (fails if the row exists), "save", "auto" (create
--   with the next id of the counter KEYS[1]), "delete"
-- ARGV[2] the row's name; its key KEYS[3] .. ARGV[2] is also the member
--   stored in the indexes (in "auto" mode every argument equal to or
--   containing the marker ARGV[3] gets the new id in its place)
-- ARGV[3] the id marker, ARGV[4] separator
-- then seven counted lists, each "n, items..." (key names after KEYS[3]):
--   checks: pairs (field, "=" .. expected value, or "!" for absent); on a
--     mismatch nothing is written and "conflict" is returned
--   unindex: fields whose equality entry for the *stored* value is removed
--     (name: field .. sep .. "absolute" .. sep .. value)
--   zrem: sorted sets the row is removed from (range and full-text indexes)
--   row: pairs (field, value), the new row (nothing: the row is deleted)
--   sadd: sets the row joins; zadd: pairs (sorted set, score); del: keys deleted
-- returns "exists", "conflict", the new id ("auto") or "ok"
local mode, mark, sep = ARGV[1], ARGV[3], ARGV[4]
local base = KEYS[3]
local id = nil
local function sub(s)
  if id == nil then return s end
  local at = string.find(s, mark, 1, true)
  if at == nil then return s end
  return string.sub(s, 1, at - 1) .. id .. string.sub(s, at + #mark)
end
local at = 5
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
local row = base .. ARGV[2]
if mode == 'auto' then
  id = tostring(redis.call('INCR', KEYS[1]))
  row = base .. sub(ARGV[2])
elseif mode == 'create' and redis.call('EXISTS', row) == 1 then
  return 'exists'
end
for i = checks, checks + 2 * nchecks - 1, 2 do
  local stored = redis.call('HGET', row, ARGV[i])
  local expected = ARGV[i + 1]
  if (stored and ('=' .. stored) or '!') ~= expected then
    return 'conflict'
  end
end
-- the range entries first: a score an engine refuses stops the write here,
-- before anything else changed (ZADD replaces a score: no ZREM needed there)
local added = {}
for i = zadd, zadd + 2 * nzadd - 1, 2 do
  redis.call('ZADD', base .. sub(ARGV[i]), sub(ARGV[i + 1]), row)
  added[sub(ARGV[i])] = true
end
for i = unindex, unindex + nunindex - 1 do
  local stored = redis.call('HGET', row, ARGV[i])
  if stored then
    redis.call('SREM', base .. ARGV[i] .. sep .. 'absolute' .. sep .. stored, row)
  end
end
for i = zrem, zrem + nzrem - 1 do
  if not added[ARGV[i]] then
    redis.call('ZREM', base .. ARGV[i], row)
  end
end
redis.call('DEL', row)
if nfields > 0 then
  local items = {}
  for i = fields, fields + 2 * nfields - 1 do
    items[#items + 1] = sub(ARGV[i])
  end
  redis.call('HMSET', row, unpack(items))
  redis.call('SADD', KEYS[2], row)
else
  redis.call('SREM', KEYS[2], row)
end
for i = sadd, sadd + nsadd - 1 do
  redis.call('SADD', base .. sub(ARGV[i]), row)
end
for i = del, del + ndel - 1 do
  redis.call('DEL', base .. ARGV[i])
end
if id ~= nil then
  return id
end
return 'ok'
