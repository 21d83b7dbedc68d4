"""The Lua scripts of the Redis store (`redis.py`): each store call that must be atomic is one script, run by
Redis as one step, so that no lock is ever held by a client (a crashed instance leaves none behind).

Every script gets the namespace's key prefix as ARGV[1]; the keys it touches are built from it (a standalone
Redis or Valkey runs them; Redis Cluster, which needs every key declared, is not supported). Key layout, with
P the prefix and `\\n` between parts (neither an API key nor an id holds a newline):

    P seq, P clock              counters: creation order, recency (for least-recently-used eviction)
    P lru                       ZSET  project\\nthread -> recency: every thread, for the max_threads bound
    P order:project             ZSET  thread id -> creation order
    P t:project\\nthread        the thread's JSON
    P m:project\\nthread        HASH  message id -> JSON;  P mo:... ZSET message id -> order;  P mr:... run ids
    P r:project\\nkind\\nid     HASH  d (JSON), p (parent)
    P c:project\\nkind\\nparent ZSET  record id -> creation order (a list call's ids)
    P u:project\\nparent        SET   kind\\nid of the records under a parent (what goes with a thread)
    P b:project\\nkind\\nid     the name of the blob's piece list (P bp:UUID), published with its record
    P blru, P bsize             ZSET and HASH of blobs: recency and size, for the max_file_bytes bound
    P up:UUID                   the pieces of an upload in flight (expires; renamed to P bp:UUID when published)
    P stat                      HASH  evicted, files_evicted, file_bytes
"""

from __future__ import annotations

PRELUDE = r"""
local P = ARGV[1]
local SEP = '\n'
local function tick(name) return redis.call('INCR', P .. name) end
local function tkey(project, tid) return P .. 't:' .. project .. SEP .. tid end
local function rkey(project, kind, id) return P .. 'r:' .. project .. SEP .. kind .. SEP .. id end
local function touch(project, tid) redis.call('ZADD', P .. 'lru', tick('clock'), project .. SEP .. tid) end
local function split(text)
  local parts = {}
  local start = 1
  while true do
    local at = string.find(text, SEP, start, true)
    if not at then parts[#parts + 1] = string.sub(text, start) return parts end
    parts[#parts + 1] = string.sub(text, start, at - 1)
    start = at + 1
  end
end
local function drop_blob(member)
  local bkey = P .. 'b:' .. member
  local pieces = redis.call('GET', bkey)
  if not pieces then return end
  redis.call('DEL', pieces, bkey)
  local size = tonumber(redis.call('HGET', P .. 'bsize', member) or '0')
  redis.call('HDEL', P .. 'bsize', member)
  redis.call('ZREM', P .. 'blru', member)
  redis.call('HINCRBY', P .. 'stat', 'file_bytes', -size)
end
local function drop_record(project, kind, id)
  local key = rkey(project, kind, id)
  local parent = redis.call('HGET', key, 'p')
  if not parent then return false end
  redis.call('DEL', key)
  redis.call('ZREM', P .. 'c:' .. project .. SEP .. kind .. SEP .. parent, id)
  if parent ~= '' then redis.call('SREM', P .. 'u:' .. project .. SEP .. parent, kind .. SEP .. id) end
  drop_blob(project .. SEP .. kind .. SEP .. id)
  return true
end
local function drop_under(project, parent)
  local ukey = P .. 'u:' .. project .. SEP .. parent
  local ids = {}
  for _, member in ipairs(redis.call('SMEMBERS', ukey)) do
    local parts = split(member)
    drop_record(project, parts[1], parts[2])
    ids[#ids + 1] = parts[2]
  end
  redis.call('DEL', ukey)
  return ids
end
local function drop_thread(project, tid)
  if redis.call('DEL', tkey(project, tid)) == 0 then return false end
  local k = project .. SEP .. tid
  redis.call('DEL', P .. 'm:' .. k, P .. 'mo:' .. k, P .. 'mr:' .. k)
  redis.call('ZREM', P .. 'lru', k)
  redis.call('ZREM', P .. 'order:' .. project, tid)
  -- A thread takes the records under it (runs) and those under them (steps) with it.
  for _, id in ipairs(drop_under(project, tid)) do drop_under(project, id) end
  return true
end
local function put_message(project, tid, mid, data, run)
  local k = project .. SEP .. tid
  if redis.call('HSET', P .. 'm:' .. k, mid, data) == 1 then
    redis.call('ZADD', P .. 'mo:' .. k, tick('seq'), mid)
  end
  if run ~= '' then redis.call('HSET', P .. 'mr:' .. k, mid, run) else redis.call('HDEL', P .. 'mr:' .. k, mid) end
end
local function put_record(project, kind, id, data, parent)
  local key = rkey(project, kind, id)
  local old = redis.call('HGET', key, 'p')
  if old ~= parent then
    if old then
      redis.call('ZREM', P .. 'c:' .. project .. SEP .. kind .. SEP .. old, id)
      if old ~= '' then redis.call('SREM', P .. 'u:' .. project .. SEP .. old, kind .. SEP .. id) end
    end
    redis.call('ZADD', P .. 'c:' .. project .. SEP .. kind .. SEP .. parent, tick('seq'), id)
    if parent ~= '' then redis.call('SADD', P .. 'u:' .. project .. SEP .. parent, kind .. SEP .. id) end
  end
  redis.call('HSET', key, 'd', data, 'p', parent)
end
-- One page of ids in creation order, as store.base.page_of cuts it: {has_more (0/1), ids...}.
local function page(ids, order, limit, after, before)
  local ordered = ids
  if order ~= 'asc' then
    ordered = {}
    for i = #ids, 1, -1 do ordered[#ordered + 1] = ids[i] end
  end
  local start = 1
  if after ~= '' then
    local found = nil
    for i, id in ipairs(ordered) do if id == after then found = i break end end
    if not found then return {0} end
    start = found + 1
  end
  local first, last, more
  if before ~= '' then
    local found = nil
    for i = start, #ordered do if ordered[i] == before then found = i break end end
    if not found then return {0} end
    first, last = math.max(start, found - limit), found - 1
    more = (found - start) > limit
  else
    first, last = start, math.min(#ordered, start + limit - 1)
    more = (#ordered - start + 1) > limit
  end
  local chosen = {more and 1 or 0}
  for i = first, last do chosen[#chosen + 1] = ordered[i] end
  return chosen
end
"""

# ARGV: P, project, thread id, thread JSON, max_threads, then (message id, JSON, run id or '') per message.
CREATE_THREAD = r"""
local project, tid = ARGV[2], ARGV[3]
drop_thread(project, tid)
redis.call('SET', tkey(project, tid), ARGV[4])
redis.call('ZADD', P .. 'order:' .. project, tick('seq'), tid)
touch(project, tid)
for i = 6, #ARGV, 3 do put_message(project, tid, ARGV[i], ARGV[i + 1], ARGV[i + 2]) end
local evicted = 0
while redis.call('ZCARD', P .. 'lru') > tonumber(ARGV[5]) do
  local oldest = split(redis.call('ZPOPMIN', P .. 'lru')[1])
  drop_thread(oldest[1], oldest[2])
  evicted = evicted + 1
end
if evicted > 0 then redis.call('HINCRBY', P .. 'stat', 'evicted', evicted) end
return evicted
"""

# ARGV: P, project, thread id. The thread's JSON (a use of it), or nil.
READ_THREAD = r"""
local data = redis.call('GET', tkey(ARGV[2], ARGV[3]))
if data then touch(ARGV[2], ARGV[3]) end
return data
"""

# ARGV: P, project, thread id, JSON, version (the JSON read). 1 when written.
REPLACE_THREAD = r"""
local key = tkey(ARGV[2], ARGV[3])
if redis.call('GET', key) ~= ARGV[5] then return 0 end
redis.call('SET', key, ARGV[4])
touch(ARGV[2], ARGV[3])
return 1
"""

DELETE_THREAD = r"""
return drop_thread(ARGV[2], ARGV[3]) and 1 or 0
"""

THREADS = r"""
local found = {}
for _, tid in ipairs(redis.call('ZRANGE', P .. 'order:' .. ARGV[2], 0, -1)) do
  found[#found + 1] = redis.call('GET', tkey(ARGV[2], tid))
end
return found
"""

# ARGV: P, project, thread id, message id, JSON, run id or '', most or ''. 0: no thread, -1: full, 1: kept.
ADD_MESSAGE = r"""
local project, tid, mid = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', tkey(project, tid)) == 0 then return 0 end
touch(project, tid)
local messages = P .. 'm:' .. project .. SEP .. tid
if ARGV[7] ~= '' and redis.call('HLEN', messages) >= tonumber(ARGV[7])
    and redis.call('HEXISTS', messages, mid) == 0 then
  return -1
end
put_message(project, tid, mid, ARGV[5], ARGV[6])
return 1
"""

# ARGV: P, project, thread id, message id. The message's JSON, or nil.
READ_MESSAGE = r"""
if redis.call('EXISTS', tkey(ARGV[2], ARGV[3])) == 0 then return nil end
touch(ARGV[2], ARGV[3])
return redis.call('HGET', P .. 'm:' .. ARGV[2] .. SEP .. ARGV[3], ARGV[4])
"""

# ARGV: P, project, thread id, message id, JSON, run id or '', version.
REPLACE_MESSAGE = r"""
local project, tid, mid = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', tkey(project, tid)) == 0 then return 0 end
if redis.call('HGET', P .. 'm:' .. project .. SEP .. tid, mid) ~= ARGV[7] then return 0 end
touch(project, tid)
put_message(project, tid, mid, ARGV[5], ARGV[6])
return 1
"""

DELETE_MESSAGE = r"""
local project, tid, mid = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', tkey(project, tid)) == 0 then return 0 end
touch(project, tid)
local k = project .. SEP .. tid
if redis.call('HDEL', P .. 'm:' .. k, mid) == 0 then return 0 end
redis.call('ZREM', P .. 'mo:' .. k, mid)
redis.call('HDEL', P .. 'mr:' .. k, mid)
return 1
"""

# ARGV: P, project, thread id, run id or '', order, limit, after or '', before or ''.
# nil when the thread is missing, else {has_more, JSON...}.
LIST_MESSAGES = r"""
local project, tid = ARGV[2], ARGV[3]
if redis.call('EXISTS', tkey(project, tid)) == 0 then return nil end
touch(project, tid)
local k = project .. SEP .. tid
local ids = redis.call('ZRANGE', P .. 'mo:' .. k, 0, -1)
if ARGV[4] ~= '' then
  local runs = redis.call('HGETALL', P .. 'mr:' .. k)
  local of = {}
  for i = 1, #runs, 2 do of[runs[i]] = runs[i + 1] end
  local kept = {}
  for _, id in ipairs(ids) do if of[id] == ARGV[4] then kept[#kept + 1] = id end end
  ids = kept
end
local chosen = page(ids, ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8])
for i = 2, #chosen do chosen[i] = redis.call('HGET', P .. 'm:' .. k, chosen[i]) end
return chosen
"""

# ARGV: P, project, kind, id, JSON, parent.
PUT_RECORD = r"""
put_record(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return 1
"""

# ARGV: as PUT_RECORD. nil when it went in, else the JSON that holds the id.
ADD_RECORD = r"""
local held = redis.call('HGET', rkey(ARGV[2], ARGV[3], ARGV[4]), 'd')
if held then return held end
put_record(ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6])
return nil
"""

# ARGV: P, project, kind, id, JSON, version.
REPLACE_RECORD = r"""
local key = rkey(ARGV[2], ARGV[3], ARGV[4])
if redis.call('HGET', key, 'd') ~= ARGV[6] then return 0 end
redis.call('HSET', key, 'd', ARGV[5])
return 1
"""

# ARGV: P, project, kind, id, '1' when a version follows, version.
DELETE_RECORD = r"""
if ARGV[5] == '1' and redis.call('HGET', rkey(ARGV[2], ARGV[3], ARGV[4]), 'd') ~= ARGV[6] then return 0 end
return drop_record(ARGV[2], ARGV[3], ARGV[4]) and 1 or 0
"""

# ARGV: P, project, kind, parent, order, limit, after or '', before or ''. {has_more, JSON...}.
LIST_RECORDS = r"""
local project, kind = ARGV[2], ARGV[3]
local ids = redis.call('ZRANGE', P .. 'c:' .. project .. SEP .. kind .. SEP .. ARGV[4], 0, -1)
local chosen = page(ids, ARGV[5], tonumber(ARGV[6]), ARGV[7], ARGV[8])
for i = 2, #chosen do chosen[i] = redis.call('HGET', rkey(project, kind, chosen[i]), 'd') end
return chosen
"""

# ARGV: P, project, kind, id, JSON, upload key (P up:UUID), blob key (P bp:UUID), size, max_file_bytes.
# The upload's pieces become the record's blob, in one step with the record; the least recently used blobs go
# past max_file_bytes. -1 when the upload's pieces are gone (a reset while it streamed), else how many went.
PUBLISH_BLOB = r"""
local project, kind, id = ARGV[2], ARGV[3], ARGV[4]
if redis.call('EXISTS', ARGV[6]) == 0 then return -1 end
redis.call('RENAME', ARGV[6], ARGV[7])
redis.call('PERSIST', ARGV[7])
local member = project .. SEP .. kind .. SEP .. id
drop_blob(member)
put_record(project, kind, id, ARGV[5], '')
redis.call('SET', P .. 'b:' .. member, ARGV[7])
redis.call('HSET', P .. 'bsize', member, ARGV[8])
redis.call('ZADD', P .. 'blru', tick('clock'), member)
redis.call('HINCRBY', P .. 'stat', 'file_bytes', tonumber(ARGV[8]))
local evicted = 0
while tonumber(redis.call('HGET', P .. 'stat', 'file_bytes')) > tonumber(ARGV[9]) do
  local oldest = redis.call('ZRANGE', P .. 'blru', 0, 0)[1]
  local parts = split(oldest)
  drop_record(parts[1], parts[2], parts[3])
  drop_blob(oldest)
  evicted = evicted + 1
end
if evicted > 0 then redis.call('HINCRBY', P .. 'stat', 'files_evicted', evicted) end
return evicted
"""

# ARGV: P, project, kind, id. The blob's piece list key (a use of it), or nil.
READ_BLOB = r"""
local member = ARGV[2] .. SEP .. ARGV[3] .. SEP .. ARGV[4]
local pieces = redis.call('GET', P .. 'b:' .. member)
if pieces then redis.call('ZADD', P .. 'blru', tick('clock'), member) end
return pieces
"""
