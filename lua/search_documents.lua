-- Read documents of a full-text search index: every hit of a search at once.
-- KEYS the documents' hashes; no ARGV
-- returns, for each key, its fields and values (HGETALL's flat list; empty
--   for a document that is gone)
local found = {}
for i = 1, #KEYS do
  found[i] = redis.call('HGETALL', KEYS[i])
end
return found
