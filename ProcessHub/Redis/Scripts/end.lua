-- Ends a running process (docs/protocol.md section 11): completed, failed or cancelled, which is final. The next seq,
-- the outcome, the event in its stream and in the shared log, one PUBLISH, and the retention window as the keys'
-- time to live, atomically. An optional condition is checked in the same step, so that of several hubs deciding the
-- same end (a stale process, a lost hub) exactly one succeeds and a report that came first wins.
--
-- KEYS[1] epoch  KEYS[2] offset  KEYS[3] log  KEYS[4] the process's hash  KEYS[5] the process's events
-- KEYS[6] the producer hub's lease (only for condition 'lost')  KEYS[7] running processes per owner (a hash)
-- ARGV[1] epoch  ARGV[2] id  ARGV[3] kind (2 completed, 3 failed, 4 cancelled)  ARGV[4] field (result, error or
-- cancelled_by)  ARGV[5] its value ('' = none)  ARGV[6] now (UTC ticks)  ARGV[7] the event's JSON before its seq
-- ARGV[8] after it  ARGV[9] history limit  ARGV[10] log length  ARGV[11] the events channel
-- ARGV[12] retention (seconds)  ARGV[13] condition: '' | 'stale' (unchanged since ARGV[14] ticks) | 'lost' (no lease)
-- The claim of the Idempotency-Key the process was started with, if any (named in its hash's 'idempotency' field, as
-- cancel.lua names a lease: one Redis, not a cluster), gets the same time to live: a key lives as long as its process.
-- Returns {'ok', seq, offset} | {'ended', status} | {'missing'} | {'epoch', current} | {'declined'}
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return {'epoch', epoch or ''}
end
local state = redis.call('HMGET', KEYS[4], 'status', 'in_process', 'hub', 'last_changed_at', 'owner', 'idempotency')
if not state[1] then
  return {'missing'}
end
if state[1] ~= 'running' then
  return {'ended', state[1]}
end
if ARGV[13] == 'stale' and tonumber(state[4]) > tonumber(ARGV[14]) then
  return {'declined'}
end
if ARGV[13] == 'lost' and redis.call('EXISTS', KEYS[6]) == 1 then
  return {'declined'}
end
local statuses = {['2'] = 'completed', ['3'] = 'failed', ['4'] = 'cancelled'}
if redis.call('HINCRBY', KEYS[7], state[5], -1) <= 0 then
  redis.call('HDEL', KEYS[7], state[5])
end
local seq = redis.call('HINCRBY', KEYS[4], 'seq', 1)
redis.call('HSET', KEYS[4], 'status', statuses[ARGV[3]], ARGV[4], ARGV[5], 'ended_at', ARGV[6], 'last_changed_at', ARGV[6])
local offset = redis.call('INCR', KEYS[2])
local message = ARGV[1] .. ' ' .. offset .. ' ' .. ARGV[2] .. ' ' .. seq .. ' ' .. ARGV[3] .. ' ' .. ARGV[6] .. ' ' .. state[2] .. ' ' .. state[3] .. '\n'
  .. ARGV[7] .. seq .. ARGV[8]
redis.call('XADD', KEYS[5], 'MAXLEN', ARGV[9], seq .. '-0', 'm', message)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[10], offset .. '-0', 'm', message)
redis.call('EXPIRE', KEYS[4], ARGV[12])
redis.call('EXPIRE', KEYS[5], ARGV[12])
if state[6] then
  redis.call('EXPIRE', state[6], ARGV[12])
end
redis.call('PUBLISH', ARGV[11], message)
return {'ok', seq, offset}
