-- Starts a process (docs/protocol.md section 11): its state hash, its event 1 in its stream and in the shared log,
-- and one PUBLISH, atomically. Fails without writing if the epoch is not the caller's or the id is taken.
--
-- KEYS[1] epoch       KEYS[2] offset (the log's counter)   KEYS[3] log (stream of every event, capped)
-- KEYS[4] index (id by start time)   KEYS[5] the process's hash   KEYS[6] the process's events (stream)
-- ARGV[1] epoch  ARGV[2] id  ARGV[3] type  ARGV[4] owner  ARGV[5] params ('' = none)  ARGV[6] started (UTC ticks)
-- ARGV[7] in-process ('1' or '0')  ARGV[8] producer hub ('-' = none)  ARGV[9] progress
-- ARGV[10] the event's JSON before its seq  ARGV[11] after it  ARGV[12] history limit  ARGV[13] log length
-- ARGV[14] the events channel
-- KEYS[7] running processes per owner (a hash)   ARGV[15] the most an owner may have running (--max-processes-per-user)
-- With an Idempotency-Key (docs/protocol.md 1.4.1): KEYS[8] its claim (a hash: id, request)  ARGV[16] the request's
-- digest  ARGV[17] the prefix of process hashes (the claimed process's hash is named by the id the claim holds, as
-- cancel.lua names a lease: the engine runs on one Redis, not a cluster)  ARGV[18] an id the claim may name and be
-- replaced all the same if that process has ended (the caller's hub has let it go while Redis still keeps its keys:
-- '' = none)
-- Returns {'ok', seq, offset} | {'epoch', current} | {'exists'} | {'limit'} | {'replayed', id, offset} | {'reused'}
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return {'epoch', epoch or ''}
end
if KEYS[8] then
  -- A repeat of a start whose process Redis still holds names that process and changes nothing; the same key for
  -- another request is refused. Checked before the limit: a repeat starts nothing, so it counts nothing.
  local claim = redis.call('HMGET', KEYS[8], 'id', 'request')
  local status = claim[1] and redis.call('HGET', ARGV[17] .. claim[1], 'status')
  if status and not (claim[1] == ARGV[18] and status ~= 'running') then
    if claim[2] ~= ARGV[16] then
      return {'reused'}
    end
    return {'replayed', claim[1], tonumber(redis.call('GET', KEYS[2]) or '0')}
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  return {'exists'}
end
-- The owner's running processes across every hub: the limit holds for the deployment, not for each hub.
if tonumber(redis.call('HGET', KEYS[7], ARGV[4]) or '0') >= tonumber(ARGV[15]) then
  return {'limit'}
end
redis.call('HINCRBY', KEYS[7], ARGV[4], 1)
redis.call('HSET', KEYS[5], 'type', ARGV[3], 'owner', ARGV[4], 'params', ARGV[5], 'started_at', ARGV[6],
  'in_process', ARGV[7], 'hub', ARGV[8], 'status', 'running', 'seq', 1, 'progress', ARGV[9], 'last_changed_at', ARGV[6])
if KEYS[8] then
  -- The claim lives as long as the process: no time to live while it runs (a stale claim of a process that is gone is
  -- replaced), and end.lua gives it the process's own, found through this field.
  redis.call('DEL', KEYS[8])
  redis.call('HSET', KEYS[8], 'id', ARGV[2], 'request', ARGV[16])
  redis.call('HSET', KEYS[5], 'idempotency', KEYS[8])
end
local offset = redis.call('INCR', KEYS[2])
-- The message every hub applies: a header line, then the event exactly as clients receive it.
local message = ARGV[1] .. ' ' .. offset .. ' ' .. ARGV[2] .. ' 1 0 ' .. ARGV[6] .. ' ' .. ARGV[7] .. ' ' .. ARGV[8] .. '\n'
  .. ARGV[10] .. '1' .. ARGV[11]
redis.call('XADD', KEYS[6], 'MAXLEN', ARGV[12], '1-0', 'm', message)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[13], offset .. '-0', 'm', message)
redis.call('ZADD', KEYS[4], ARGV[6], ARGV[2])
redis.call('PUBLISH', ARGV[14], message)
return {'ok', 1, offset}
