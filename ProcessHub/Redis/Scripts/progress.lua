-- Reports progress of a running process (docs/protocol.md section 11): the next seq, the new progress, the event in
-- its stream and in the shared log, and one PUBLISH, atomically. A process that has ended refuses (its worker learns
-- whether it was cancelled from the status).
--
-- KEYS[1] epoch  KEYS[2] offset  KEYS[3] log  KEYS[4] the process's hash  KEYS[5] the process's events
-- ARGV[1] epoch  ARGV[2] id  ARGV[3] progress  ARGV[4] now (UTC ticks)  ARGV[5] the event's JSON before its seq
-- ARGV[6] after it  ARGV[7] history limit  ARGV[8] log length  ARGV[9] the events channel
-- Returns {'ok', seq, offset} | {'ended', status} | {'missing'} | {'epoch', current}
local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then
  return {'epoch', epoch or ''}
end
local state = redis.call('HMGET', KEYS[4], 'status', 'in_process', 'hub')
if not state[1] then
  return {'missing'}
end
if state[1] ~= 'running' then
  return {'ended', state[1]}
end
local seq = redis.call('HINCRBY', KEYS[4], 'seq', 1)
redis.call('HSET', KEYS[4], 'progress', ARGV[3], 'last_changed_at', ARGV[4])
local offset = redis.call('INCR', KEYS[2])
local message = ARGV[1] .. ' ' .. offset .. ' ' .. ARGV[2] .. ' ' .. seq .. ' 1 ' .. ARGV[4] .. ' ' .. state[2] .. ' ' .. state[3] .. '\n'
  .. ARGV[5] .. seq .. ARGV[6]
redis.call('XADD', KEYS[5], 'MAXLEN', ARGV[7], seq .. '-0', 'm', message)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[8], offset .. '-0', 'm', message)
redis.call('PUBLISH', ARGV[9], message)
return {'ok', seq, offset}
