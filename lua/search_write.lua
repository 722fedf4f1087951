-- Every write to a full-text search index: store, re-index or remove one document.
-- KEYS[1] meta hash (settings, docs: document count, length: total terms),
-- KEYS[2] terms hash (document id -> '<length> <term> <term> ...', its distinct
--   terms), KEYS[3] the document's hash (content and metadata), KEYS[4] the
--   posting key base (a term's postings hash is KEYS[4] .. term: document
--   id -> '<length> <position> <position> ...'; never a key itself)
-- ARGV[1] operation: 'update' (merge the document's fields), 'replace' (drop
--   its old fields first), 'remove', 'remove_keep' (unindex, keep its hash)
-- ARGV[2] document id, ARGV[3] tokenizer settings
-- update/replace: ARGV[4] length, ARGV[5] the terms line, ARGV[6] number F of
--   document fields, ARGV[7 .. 6+2F] field/value pairs, then term/posting pairs
-- returns 1 if the document was indexed before, else 0; or, writing nothing,
--   'mismatch:' .. the index's settings when they differ from ARGV[3], or -1
--   when a remove finds the document neither indexed nor stored
local op, id = ARGV[1], ARGV[2]
local writes = op == 'update' or op == 'replace'
local settings = redis.call('HGET', KEYS[1], 'settings')
if writes and settings and settings ~= ARGV[3] then
  return 'mismatch:' .. settings
end

local docs, length = 0, 0
local old = redis.call('HGET', KEYS[2], id)
if not writes and not old and redis.call('EXISTS', KEYS[3]) == 0 then
  return -1
end
local postings = 7 + 2 * (tonumber(ARGV[6]) or 0) -- first term/posting pair
local kept = {} -- the new terms: their postings are overwritten, not deleted
if writes then
  for i = postings, #ARGV, 2 do
    kept[ARGV[i]] = true
  end
end
if old then
  local first = true
  for word in string.gmatch(old, '[^ ]+') do
    if first then
      length = 0 - tonumber(word)
      first = false
    elseif not kept[word] then
      redis.call('HDEL', KEYS[4] .. word, id)
    end
  end
  if not writes then
    redis.call('HDEL', KEYS[2], id)
  end
  docs = -1
end
if op == 'remove' or op == 'replace' then
  redis.call('DEL', KEYS[3])
end

if writes then
  local i = 7 -- the document's fields, 1,000 pairs per HSET (unpack's stack)
  while i < postings do
    local last = math.min(postings - 1, i + 1999)
    redis.call('HSET', KEYS[3], unpack(ARGV, i, last))
    i = last + 1
  end
  for j = postings, #ARGV, 2 do
    redis.call('HSET', KEYS[4] .. ARGV[j], id, ARGV[j + 1])
  end
  if old ~= ARGV[5] then
    redis.call('HSET', KEYS[2], id, ARGV[5])
  end
  if not settings then
    redis.call('HSET', KEYS[1], 'settings', ARGV[3])
  end
  docs = docs + 1
  length = length + tonumber(ARGV[4])
end

if docs ~= 0 or length ~= 0 then
  local count = redis.call('HINCRBY', KEYS[1], 'docs', tostring(docs))
  redis.call('HINCRBY', KEYS[1], 'length', tostring(length))
  if tonumber(count) <= 0 then
    redis.call('DEL', KEYS[1])
  end
end
if old then
  return 1
end
return 0
